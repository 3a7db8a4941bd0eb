// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";

/// @title StakeRegistry
/// @notice Stakes of solvers and verifiers (DESIGN §4). Protocol contracts, allowed by the owner, lock
/// free stake against jobs and bonds, and unlock, slash or burn it. Unstaking waits `unbondingPeriod`.
/// @dev Invariant, exact to the wei after every transaction:
/// `token.balanceOf(this) == totalStaked() == Σ (staked + unbonding)`.
/// `lock`, `unlock`, `slash` and `burn` with a zero amount change nothing and emit nothing, so a
/// protocol contract never has to special-case an empty share.
contract StakeRegistry is IStakeRegistry, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Where burned stake goes (DESIGN §4: it leaves the invariant).
    address public constant BURN_ADDRESS = address(0xdEaD);

    IERC20 private immutable _token;
    uint256 private immutable _unbondingPeriod;

    mapping(address account => StakeInfo) private _stakes;
    mapping(address protocolContract => bool allowed) private _protocolContracts;
    uint256 private _totalStaked;

    /// @param token_ the staked ERC20 (CrowdToken).
    /// @param unbondingPeriod_ seconds between `requestUnstake` and `withdraw`; must exceed the
    /// challenge window plus the longest dispute.
    /// @param initialOwner the account that allows protocol contracts.
    constructor(address token_, uint256 unbondingPeriod_, address initialOwner) Ownable(initialOwner) {
        _token = IERC20(token_);
        _unbondingPeriod = unbondingPeriod_;
    }

    modifier onlyProtocol() {
        if (!_protocolContracts[msg.sender]) revert StakeRegistryUnauthorized(msg.sender);
        _;
    }

    /// @inheritdoc IStakeRegistry
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert StakeRegistryZeroAmount();
        StakeInfo storage info = _stakes[msg.sender];
        uint256 staked = info.staked + amount;
        info.staked = SafeCast.toUint128(staked);
        _totalStaked += amount;
        emit Staked(msg.sender, amount, staked);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStakeRegistry
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert StakeRegistryZeroAmount();
        StakeInfo storage info = _stakes[msg.sender];
        uint256 free = info.staked - info.locked;
        if (amount > free) revert StakeRegistryInsufficientFreeStake(msg.sender, free, amount);
        uint256 releaseTime = block.timestamp + _unbondingPeriod;
        unchecked {
            info.staked -= uint128(amount); // amount <= free <= staked
        }
        info.unbonding += uint128(amount);
        info.unbondingReleaseTime = uint64(releaseTime);
        emit UnstakeRequested(msg.sender, amount, releaseTime);
    }

    /// @inheritdoc IStakeRegistry
    /// @dev Released once `block.timestamp >= unbondingReleaseTime`.
    function withdraw() external nonReentrant returns (uint256 amount) {
        StakeInfo storage info = _stakes[msg.sender];
        amount = info.unbonding;
        uint256 releaseTime = info.unbondingReleaseTime;
        if (amount == 0 || block.timestamp < releaseTime) revert StakeRegistryNothingToWithdraw(releaseTime);
        info.unbonding = 0;
        info.unbondingReleaseTime = 0;
        unchecked {
            _totalStaked -= amount; // unbonding is part of the total
        }
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IStakeRegistry
    function lock(address account, uint256 amount) external onlyProtocol {
        if (amount == 0) return;
        StakeInfo storage info = _stakes[account];
        (uint128 staked, uint128 locked) = (info.staked, info.locked);
        uint256 free = staked - locked;
        if (amount > free) revert StakeRegistryInsufficientFreeStake(account, free, amount);
        unchecked {
            info.locked = locked + uint128(amount); // <= staked
        }
        emit StakeLocked(account, amount);
    }

    /// @inheritdoc IStakeRegistry
    function unlock(address account, uint256 amount) external onlyProtocol {
        if (amount == 0) return;
        StakeInfo storage info = _stakes[account];
        uint128 locked = info.locked;
        if (amount > locked) revert StakeRegistryInsufficientLockedStake(account, locked, amount);
        unchecked {
            info.locked = locked - uint128(amount);
        }
        emit StakeUnlocked(account, amount);
    }

    /// @inheritdoc IStakeRegistry
    function slash(address account, uint256 amount) external onlyProtocol nonReentrant {
        if (amount == 0) return;
        _removeLocked(account, amount);
        emit StakeSlashed(account, amount, msg.sender);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IStakeRegistry
    function burn(address account, uint256 amount) external onlyProtocol nonReentrant {
        if (amount == 0) return;
        _removeLocked(account, amount);
        emit StakeBurned(account, amount);
        _token.safeTransfer(BURN_ADDRESS, amount);
    }

    /// @inheritdoc IStakeRegistry
    function setProtocolContract(address protocolContract, bool allowed) external onlyOwner {
        _protocolContracts[protocolContract] = allowed;
        emit ProtocolContractSet(protocolContract, allowed);
    }

    /// @inheritdoc IStakeRegistry
    function stakeOf(address account) external view returns (StakeInfo memory) {
        return _stakes[account];
    }

    /// @inheritdoc IStakeRegistry
    function freeStakeOf(address account) external view returns (uint256) {
        StakeInfo storage info = _stakes[account];
        return info.staked - info.locked;
    }

    /// @inheritdoc IStakeRegistry
    function isProtocolContract(address account) external view returns (bool) {
        return _protocolContracts[account];
    }

    /// @inheritdoc IStakeRegistry
    function unbondingPeriod() external view returns (uint256) {
        return _unbondingPeriod;
    }

    /// @inheritdoc IStakeRegistry
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStakeRegistry
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /// @dev Take `amount` out of `account`'s locked stake and out of the total (slash and burn).
    function _removeLocked(address account, uint256 amount) private {
        StakeInfo storage info = _stakes[account];
        (uint128 staked, uint128 locked) = (info.staked, info.locked);
        if (amount > locked) revert StakeRegistryInsufficientLockedStake(account, locked, amount);
        unchecked {
            // amount <= locked <= staked <= _totalStaked
            info.staked = staked - uint128(amount);
            info.locked = locked - uint128(amount);
            _totalStaked -= amount;
        }
    }
}
