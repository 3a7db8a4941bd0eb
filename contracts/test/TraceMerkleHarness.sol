// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TraceMerkle} from "../libraries/TraceMerkle.sol";

/// @title TraceMerkleHarness
/// @notice Exposes TraceMerkle so tests can check that the Python trees agree byte for byte.
/// @dev Test-only: never deployed by `crowdtrain deploy`.
contract TraceMerkleHarness {
    function checkpointLeaf(uint256 jobId, uint256 attempt, uint256 index, bytes32 stateHash)
        external pure returns (bytes32)
    {
        return TraceMerkle.checkpointLeaf(jobId, attempt, index, stateHash);
    }

    function stepLeaf(uint256 jobId, uint256 attempt, uint256 segment, uint256 step, bytes32 stateHash)
        external pure returns (bytes32)
    {
        return TraceMerkle.stepLeaf(jobId, attempt, segment, step, stateHash);
    }

    function segmentLeaf(uint256 jobId, uint256 attempt, uint256 segment, bytes32 segRoot)
        external pure returns (bytes32)
    {
        return TraceMerkle.segmentLeaf(jobId, attempt, segment, segRoot);
    }

    function root(bytes32[] calldata leaves) external pure returns (bytes32) {
        return TraceMerkle.root(leaves);
    }

    function verify(bytes32 root_, bytes32 leaf, uint256 index, uint256 leafCount, bytes32[] calldata proof)
        external pure returns (bool)
    {
        return TraceMerkle.verify(root_, leaf, index, leafCount, proof);
    }
}
