// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IStakeRegistry
/// @notice Stakes of solvers and verifiers. Free stake can be locked by protocol contracts
/// (JobMarket, DisputeGame) against a job or bond, unlocked, slashed (paid to a recipient contract)
/// or burned. Unstaking goes through an unbonding period longer than any challenge window plus
/// the longest dispute, so stake cannot run from a pending slash.
interface IStakeRegistry {
    /// @notice Stake state of one account; all amounts in token wei.
    struct StakeInfo {
        uint128 staked; // total held for the account, locked part included, unbonding excluded
        uint128 locked; // part of `staked` locked by protocol contracts
        uint128 unbonding; // requested for withdrawal, not yet released
        uint64 unbondingReleaseTime; // when `unbonding` may be withdrawn
    }

    /// @notice The amount is zero.
    error StakeRegistryZeroAmount();
    /// @notice `account` has only `available` free stake, `requested` was needed.
    error StakeRegistryInsufficientFreeStake(address account, uint256 available, uint256 requested);
    /// @notice `account` has only `locked` locked stake, `requested` was to be unlocked/slashed.
    error StakeRegistryInsufficientLockedStake(address account, uint256 locked, uint256 requested);
    /// @notice Nothing is unbonding, or it is not released until `releaseTime`.
    error StakeRegistryNothingToWithdraw(uint256 releaseTime);
    /// @notice `caller` is not a protocol contract.
    error StakeRegistryUnauthorized(address caller);

    /// @notice Emitted when `account` added `amount` to its stake.
    event Staked(address indexed account, uint256 amount, uint256 totalStaked);
    /// @notice Emitted when `account` asked to unstake `amount`, withdrawable at `releaseTime`.
    event UnstakeRequested(address indexed account, uint256 amount, uint256 releaseTime);
    /// @notice Emitted when `account` withdrew `amount` of released unbonding stake.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when a protocol contract locked `amount` of `account`'s stake.
    event StakeLocked(address indexed account, uint256 amount);
    /// @notice Emitted when a protocol contract unlocked `amount` of `account`'s stake.
    event StakeUnlocked(address indexed account, uint256 amount);
    /// @notice Emitted when `amount` of `account`'s locked stake was sent to `recipient` (a protocol contract).
    event StakeSlashed(address indexed account, uint256 amount, address indexed recipient);
    /// @notice Emitted when `amount` of `account`'s locked stake was burned.
    event StakeBurned(address indexed account, uint256 amount);
    /// @notice Emitted when the owner allowed or disallowed a protocol contract.
    event ProtocolContractSet(address indexed protocolContract, bool allowed);

    /// @notice Add `amount` tokens (pulled with transferFrom) to the caller's stake.
    function stake(uint256 amount) external;
    /// @notice Move `amount` of free stake to unbonding; it is released after the unbonding period.
    /// @dev Adds to any pending unbonding amount and restarts its release time.
    function requestUnstake(uint256 amount) external;
    /// @notice Withdraw all released unbonding stake to the caller.
    function withdraw() external returns (uint256 amount);

    /// @notice Lock `amount` of `account`'s free stake. Protocol contracts only.
    function lock(address account, uint256 amount) external;
    /// @notice Lock as much of `amount` as `account` has, taking its free stake first and then its
    /// unbonding stake (moved back into `staked`): a penalty cannot be escaped by `requestUnstake`
    /// before the unbonding period ends. Returns the amount locked. Protocol contracts only.
    function lockUpTo(address account, uint256 amount) external returns (uint256 locked);
    /// @notice Unlock `amount` of `account`'s locked stake. Protocol contracts only.
    function unlock(address account, uint256 amount) external;
    /// @notice Transfer `amount` of `account`'s locked stake to the calling protocol contract.
    /// @dev The caller must credit the tokens to someone in the same transaction (solvency).
    function slash(address account, uint256 amount) external;
    /// @notice Burn `amount` of `account`'s locked stake (sent to 0xdead). Protocol contracts only.
    function burn(address account, uint256 amount) external;
    /// @notice Allow or disallow a protocol contract. Owner only (set at deployment).
    function setProtocolContract(address protocolContract, bool allowed) external;

    function stakeOf(address account) external view returns (StakeInfo memory);
    function freeStakeOf(address account) external view returns (uint256);
    function isProtocolContract(address account) external view returns (bool);
    function unbondingPeriod() external view returns (uint256);
    function token() external view returns (address);
    /// @notice Sum of every account's `staked + unbonding`: equals the registry's token balance.
    function totalStaked() external view returns (uint256);
}
