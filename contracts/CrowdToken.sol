// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title CrowdToken
/// @notice The protocol's ERC20 ("Crowd Token", "CROWD", 18 decimals) with EIP-2612 permits.
/// Only the owner mints (the devnet faucet, DESIGN §4).
contract CrowdToken is ERC20, ERC20Permit, Ownable {
    /// @param initialOwner the account allowed to mint.
    constructor(address initialOwner) ERC20("Crowd Token", "CROWD") ERC20Permit("Crowd Token") Ownable(initialOwner) {}

    /// @notice Mint `amount` tokens to `to`. Owner only.
    /// @param to the recipient.
    /// @param amount token wei to create.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
