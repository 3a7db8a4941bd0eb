// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title CrowdToken
/// @notice The protocol's ERC20 ("Crowd Token", "CROWD", 18 decimals) with EIP-2612 permits.
/// The supply is fixed at deployment; `mint` exists only on the devnet chain id (31337), as the
/// devnet faucet (docs/PROTOCOL.md §2), so on any other chain nobody can create tokens.
contract CrowdToken is ERC20, ERC20Permit, Ownable {
    /// @notice The devnet chain id (Anvil), the only chain with a faucet.
    uint256 public constant DEVNET_CHAIN_ID = 31_337;

    /// @notice `mint` was called on chain `chainId`, which is not the devnet.
    error CrowdTokenMintDisabled(uint256 chainId);

    /// @param initialOwner the account allowed to mint on the devnet, and the holder of the supply.
    /// @param initialSupply token wei minted to `initialOwner`: the whole supply off the devnet.
    constructor(address initialOwner, uint256 initialSupply)
        ERC20("Crowd Token", "CROWD")
        ERC20Permit("Crowd Token")
        Ownable(initialOwner)
    {
        if (initialSupply != 0) _mint(initialOwner, initialSupply);
    }

    /// @notice Mint `amount` tokens to `to`. Owner only, devnet only.
    /// @param to the recipient.
    /// @param amount token wei to create.
    function mint(address to, uint256 amount) external onlyOwner {
        if (block.chainid != DEVNET_CHAIN_ID) revert CrowdTokenMintDisabled(block.chainid);
        _mint(to, amount);
    }
}
