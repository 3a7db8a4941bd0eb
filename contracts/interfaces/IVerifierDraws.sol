// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IVerifierDraws
/// @notice The verifier set of the StakeRegistry and its stake-weighted draws (docs/PROTOCOL.md §2, §6, §7).
/// A staked account registers once as a verifier; from then on its draw weight is its `staked`
/// amount when that is at least `minVerifierStake`, else 0. Weights live in a Fenwick (binary indexed)
/// tree whose every node keeps a checkpoint history by block number, so a draw reads the weights
/// **as of a snapshot block** in O(log n) storage reads, never a loop over all verifiers.
///
/// Sybil defence: a caller always draws against the weights of the block of the transaction that
/// fixed the seed's target block `b = snapshot + seedDelay` (seedDelay ≥ 1). blockhash(b) is unknown
/// in the snapshot block, so stake added, moved or removed once the seed is knowable never changes
/// the draw; a target that moves (not recorded within 256 blocks) keeps the same, even older, snapshot.
interface IVerifierDraws {
    /// @notice `account` is already a registered verifier.
    error StakeRegistryAlreadyVerifier(address account);
    /// @notice `account` stakes `staked`, below the minimum verifier stake `minimum`.
    error StakeRegistryBelowVerifierMinimum(address account, uint256 staked, uint256 minimum);
    /// @notice The snapshot block `snapshotBlock` is not in the past.
    error StakeRegistryFutureSnapshot(uint256 snapshotBlock);

    /// @notice Emitted when `account` joined the verifier set in tree slot `slot`.
    event VerifierRegistered(address indexed account, uint256 slot);
    /// @notice Emitted when the draw weight of `account` changed to `weight` (from this block on).
    event VerifierWeightChanged(address indexed account, uint256 weight);

    /// @notice Join the verifier set. Requires `staked >= minVerifierStake`. Weight follows `staked`
    /// automatically from then on (0 while below the minimum).
    function registerVerifier() external;

    /// @notice Draw up to `count` distinct verifiers, stake-weighted, without replacement, as of
    /// `snapshotBlock` (< block.number), skipping `exclude`. Draw t uses
    /// `uint256(keccak256(abi.encode(seed, t))) % remainingWeight` and a Fenwick descent.
    /// @return drawn the drawn accounts, in draw order; fewer than `count` when fewer are eligible.
    /// @return weights their weights at the snapshot.
    function drawVerifiers(bytes32 seed, uint256 count, address[] calldata exclude, uint256 snapshotBlock)
        external
        view
        returns (address[] memory drawn, uint256[] memory weights);

    /// @notice Draw weight of `account` at the end of block `blockNumber` (0 if not a verifier).
    function verifierWeightAt(address account, uint256 blockNumber) external view returns (uint256);
    /// @notice Sum of all draw weights at the end of block `blockNumber`.
    function totalVerifierWeightAt(uint256 blockNumber) external view returns (uint256);
    /// @notice Number of verifiers with a non-zero weight at the end of block `blockNumber`.
    function activeVerifiersAt(uint256 blockNumber) external view returns (uint256);
    function isVerifier(address account) external view returns (bool);
    function minVerifierStake() external view returns (uint256);
}
