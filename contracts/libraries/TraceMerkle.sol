// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TraceMerkle
/// @notice Position-bound, fixed-depth binary Merkle trees over a training trace (docs/PROTOCOL.md §4).
/// @dev Leaves are double-hashed and bound to (jobId, attempt, position); nodes are
/// keccak256(abi.encode(left, right)) in index order (not sorted pairs), padded with bytes32(0)
/// to the next power of two; a single leaf is its own root. A proof is the sibling list, and its
/// length must equal the depth implied by the declared leaf count, so a proof for one index never
/// verifies for another.
library TraceMerkle {
    /// @notice The proof's length does not match the depth of a tree with `leafCount` leaves.
    error TraceMerkleBadProofLength(uint256 leafCount, uint256 proofLength);
    /// @notice The leaf index is outside a tree with `leafCount` leaves.
    error TraceMerkleIndexOutOfRange(uint256 index, uint256 leafCount);

    /// @notice Checkpoint leaf i (i = 0..N) carrying stateHash(i·K).
    function checkpointLeaf(uint256 jobId, uint256 attempt, uint256 index, bytes32 stateHash)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(jobId, attempt, index, stateHash))));
    }

    /// @notice Step leaf j (j = 0..K) of segment i carrying stateHash((i-1)·K + j).
    function stepLeaf(uint256 jobId, uint256 attempt, uint256 segment, uint256 step, bytes32 stateHash)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(jobId, attempt, segment, step, stateHash))));
    }

    /// @notice Segment leaf i (i = 1..N) carrying segRoot_i.
    function segmentLeaf(uint256 jobId, uint256 attempt, uint256 segment, bytes32 segRoot)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(jobId, attempt, segment, segRoot))));
    }

    /// @notice Depth of the fixed-depth tree over `leafCount` leaves: ceil(log2(leafCount)).
    function depth(uint256 leafCount) internal pure returns (uint256 d) {
        uint256 width = 1;
        while (width < leafCount) {
            width <<= 1;
            ++d;
        }
    }

    /// @notice Root implied by `leaf` at `index` with sibling list `proof` in a tree of `leafCount` leaves.
    function rootFrom(bytes32 leaf, uint256 index, uint256 leafCount, bytes32[] calldata proof)
        internal
        pure
        returns (bytes32 node)
    {
        if (index >= leafCount) revert TraceMerkleIndexOutOfRange(index, leafCount);
        if (proof.length != depth(leafCount)) revert TraceMerkleBadProofLength(leafCount, proof.length);
        node = leaf;
        for (uint256 level; level < proof.length; ++level) {
            node = (index & 1 == 0)
                ? keccak256(abi.encode(node, proof[level]))
                : keccak256(abi.encode(proof[level], node));
            index >>= 1;
        }
    }

    /// @notice Whether `leaf` sits at `index` of the tree `root` over `leafCount` leaves.
    function verify(bytes32 root_, bytes32 leaf, uint256 index, uint256 leafCount, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        return rootFrom(leaf, index, leafCount, proof) == root_;
    }

    /// @notice Root of the tree over `leaves` (used by tests and small on-chain trees).
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 width = 1;
        while (width < leaves.length) width <<= 1;
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i; i < leaves.length; ++i) level[i] = leaves[i];
        while (width > 1) {
            width >>= 1;
            for (uint256 i; i < width; ++i) {
                level[i] = keccak256(abi.encode(level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }
}
