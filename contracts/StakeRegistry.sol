// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {IVerifierDraws} from "./interfaces/IVerifierDraws.sol";

/// @title StakeRegistry
/// @notice Stakes of solvers and verifiers (docs/PROTOCOL.md §2). Protocol contracts, allowed by the owner, lock
/// free stake against jobs and bonds, and unlock, slash or burn it. Unstaking waits `unbondingPeriod`.
/// @dev Invariant, exact to the wei after every transaction:
/// `token.balanceOf(this) == totalStaked() == Σ (staked + unbonding)`.
/// `lock`, `unlock`, `slash` and `burn` with a zero amount change nothing and emit nothing, so a
/// protocol contract never has to special-case an empty share.
///
/// Verifier set (IVerifierDraws): a Fenwick tree over verifier slots whose nodes, the total weight,
/// the slot count and the active count are checkpointed by block number. A registered verifier's
/// weight follows its `staked` (0 below `minVerifierStake`) on every change; draws read the tree as of
/// a past snapshot block, so nothing after the snapshot can influence them (see DISPUTES.md).
/// Accounts that never registered pay one extra storage read per stake change.
contract StakeRegistry is IStakeRegistry, IVerifierDraws, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Where burned stake goes (docs/PROTOCOL.md §2: it leaves the invariant).
    address public constant BURN_ADDRESS = address(0xdEaD);

    IERC20 private immutable _token;
    uint256 private immutable _unbondingPeriod;

    mapping(address account => StakeInfo) private _stakes;
    mapping(address protocolContract => bool allowed) private _protocolContracts;
    uint256 private _totalStaked;

    uint256 private immutable _minVerifierStake;
    mapping(address account => uint256 slot) private _slotOf; // 1-based, 0 = not a verifier
    mapping(uint256 slot => address account) private _accountAt;
    mapping(uint256 node => Checkpoints.Trace208) private _tree; // Fenwick nodes
    mapping(uint256 slot => Checkpoints.Trace208) private _slotWeight;
    Checkpoints.Trace208 private _slotCount;
    Checkpoints.Trace208 private _totalWeight;
    Checkpoints.Trace208 private _activeCount;

    /// @param token_ the staked ERC20 (CrowdToken).
    /// @param unbondingPeriod_ seconds between `requestUnstake` and `withdraw`; must exceed the
    /// challenge window plus the longest dispute.
    /// @param minVerifierStake_ least `staked` of a verifier with a non-zero draw weight.
    /// @param initialOwner the account that allows protocol contracts.
    constructor(address token_, uint256 unbondingPeriod_, uint256 minVerifierStake_, address initialOwner)
        Ownable(initialOwner)
    {
        _token = IERC20(token_);
        _unbondingPeriod = unbondingPeriod_;
        _minVerifierStake = minVerifierStake_;
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
        _syncWeight(msg.sender, staked);
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
        _syncWeight(msg.sender, info.staked);
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
    function lockUpTo(address account, uint256 amount) external onlyProtocol returns (uint256 locked) {
        StakeInfo storage info = _stakes[account];
        (uint128 staked, uint128 held, uint128 unbonding) = (info.staked, info.locked, info.unbonding);
        uint256 free = staked - held;
        if (amount > free && unbonding != 0) {
            // Unbonding stake stays slashable until withdrawn: take the shortfall back into `staked`
            // (both count in `_totalStaked`, so the total is unchanged).
            uint256 pulled = amount - free < unbonding ? amount - free : unbonding;
            unchecked {
                info.unbonding = unbonding - uint128(pulled);
                staked += uint128(pulled); // pulled <= unbonding: staked + unbonding fits in uint128
                free += pulled;
            }
            info.staked = staked;
            _syncWeight(account, staked);
        }
        locked = amount < free ? amount : free;
        if (locked == 0) return 0;
        unchecked {
            info.locked = held + uint128(locked); // <= staked
        }
        emit StakeLocked(account, locked);
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
        _syncWeight(account, staked - amount);
    }

    // --- verifier set (IVerifierDraws) ---

    /// @inheritdoc IVerifierDraws
    function registerVerifier() external {
        if (_slotOf[msg.sender] != 0) revert StakeRegistryAlreadyVerifier(msg.sender);
        uint256 staked = _stakes[msg.sender].staked;
        if (staked < _minVerifierStake) {
            revert StakeRegistryBelowVerifierMinimum(msg.sender, staked, _minVerifierStake);
        }
        uint256 slot = _slotCount.latest() + 1;
        _slotOf[msg.sender] = slot;
        _accountAt[slot] = msg.sender;
        _slotCount.push(_now(), uint208(slot));
        // A new Fenwick node covers (slot - lowbit, slot]: the existing slots of that range.
        _tree[slot].push(_now(), uint208(_prefix(slot - 1) - _prefix(slot - (slot & (~slot + 1)))));
        emit VerifierRegistered(msg.sender, slot);
        _syncWeight(msg.sender, staked);
    }

    /// @inheritdoc IVerifierDraws
    function drawVerifiers(bytes32 seed, uint256 count, address[] calldata exclude, uint256 snapshotBlock)
        external
        view
        returns (address[] memory drawn, uint256[] memory weights)
    {
        if (snapshotBlock >= block.number) revert StakeRegistryFutureSnapshot(snapshotBlock);
        uint48 at = uint48(snapshotBlock);
        uint256 size = _slotCount.upperLookupRecent(at);
        uint256 remaining = _totalWeight.upperLookupRecent(at);
        uint256 eligible = _activeCount.upperLookupRecent(at);
        uint256[] memory takenSlot = new uint256[](exclude.length + count);
        uint256[] memory takenWeight = new uint256[](exclude.length + count);
        uint256 taken;
        for (uint256 e; e < exclude.length; ++e) {
            uint256 slot = _slotOf[exclude[e]];
            if (slot == 0 || slot > size || _isTaken(takenSlot, taken, slot)) continue;
            uint256 w = _slotWeight[slot].upperLookupRecent(at);
            if (w == 0) continue;
            (takenSlot[taken], takenWeight[taken]) = (slot, w);
            ++taken;
            remaining -= w;
            --eligible;
        }
        uint256 n = count < eligible ? count : eligible;
        drawn = new address[](n);
        weights = new uint256[](n);
        uint256 top = 1;
        while (top << 1 <= size) top <<= 1;
        for (uint256 t; t < n; ++t) {
            uint256 r = uint256(keccak256(abi.encode(seed, t))) % remaining;
            uint256 pos;
            for (uint256 step = top; step != 0; step >>= 1) {
                uint256 node = pos + step;
                if (node > size) continue;
                uint256 v = _tree[node].upperLookupRecent(at);
                for (uint256 q; q < taken; ++q) {
                    if (takenSlot[q] > pos && takenSlot[q] <= node) v -= takenWeight[q];
                }
                if (v <= r) {
                    r -= v;
                    pos = node;
                }
            }
            uint256 slot = pos + 1;
            uint256 w = _slotWeight[slot].upperLookupRecent(at);
            (drawn[t], weights[t]) = (_accountAt[slot], w);
            (takenSlot[taken], takenWeight[taken]) = (slot, w);
            ++taken;
            remaining -= w;
        }
    }

    /// @inheritdoc IVerifierDraws
    function verifierWeightAt(address account, uint256 blockNumber) external view returns (uint256) {
        uint256 slot = _slotOf[account];
        return slot == 0 ? 0 : _slotWeight[slot].upperLookupRecent(uint48(blockNumber));
    }

    /// @inheritdoc IVerifierDraws
    function totalVerifierWeightAt(uint256 blockNumber) external view returns (uint256) {
        return _totalWeight.upperLookupRecent(uint48(blockNumber));
    }

    /// @inheritdoc IVerifierDraws
    function activeVerifiersAt(uint256 blockNumber) external view returns (uint256) {
        return _activeCount.upperLookupRecent(uint48(blockNumber));
    }

    /// @inheritdoc IVerifierDraws
    function isVerifier(address account) external view returns (bool) {
        return _slotOf[account] != 0;
    }

    /// @inheritdoc IVerifierDraws
    function minVerifierStake() external view returns (uint256) {
        return _minVerifierStake;
    }

    /// @dev Set a registered verifier's weight from its `staked`; no-op for other accounts.
    function _syncWeight(address account, uint256 staked) private {
        uint256 slot = _slotOf[account];
        if (slot == 0) return;
        uint256 weight = staked >= _minVerifierStake ? staked : 0;
        uint256 old = _slotWeight[slot].latest();
        if (weight == old) return;
        uint48 now_ = _now();
        _slotWeight[slot].push(now_, uint208(weight));
        uint256 size = _slotCount.latest();
        for (uint256 node = slot; node <= size; node += node & (~node + 1)) {
            _tree[node].push(now_, uint208(_tree[node].latest() + weight - old));
        }
        _totalWeight.push(now_, uint208(_totalWeight.latest() + weight - old));
        if (old == 0) _activeCount.push(now_, _activeCount.latest() + 1);
        else if (weight == 0) _activeCount.push(now_, _activeCount.latest() - 1);
        emit VerifierWeightChanged(account, weight);
    }

    /// @dev Current sum of the weights of slots 1..k.
    function _prefix(uint256 k) private view returns (uint256 sum) {
        for (; k != 0; k &= k - 1) {
            sum += _tree[k].latest();
        }
    }

    function _isTaken(uint256[] memory slots, uint256 taken, uint256 slot) private pure returns (bool) {
        for (uint256 q; q < taken; ++q) {
            if (slots[q] == slot) return true;
        }
        return false;
    }

    function _now() private view returns (uint48) {
        return uint48(block.number);
    }
}
