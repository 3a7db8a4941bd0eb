// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Proofs for TraceMerkle trees (index-ordered pairs, zero padding to a power of two), built in
/// memory so the handler can open any leaf of the traces it committed.
library TraceTree {
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[] memory level = _padded(leaves);
        for (uint256 width = level.length; width > 1; width >>= 1) {
            for (uint256 i; i < width / 2; ++i) {
                level[i] = keccak256(abi.encode(level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }

    function proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory siblings) {
        bytes32[] memory level = _padded(leaves);
        uint256 depth;
        for (uint256 w = level.length; w > 1; w >>= 1) ++depth;
        siblings = new bytes32[](depth);
        uint256 width = level.length;
        for (uint256 d; d < depth; ++d) {
            siblings[d] = level[index ^ 1];
            for (uint256 i; i < width / 2; ++i) {
                level[i] = keccak256(abi.encode(level[2 * i], level[2 * i + 1]));
            }
            width >>= 1;
            index >>= 1;
        }
    }

    function _padded(bytes32[] memory leaves) private pure returns (bytes32[] memory level) {
        uint256 width = 1;
        while (width < leaves.length) width <<= 1;
        level = new bytes32[](width);
        for (uint256 i; i < leaves.length; ++i) level[i] = leaves[i];
    }
}
