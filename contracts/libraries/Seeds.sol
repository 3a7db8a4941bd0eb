// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Seeds
/// @notice Block-hash seeds with a target fixed before anyone can know it (docs/PROTOCOL.md §5).
/// @dev The triggering transaction sets `target = block.number + seedDelay` (seedDelay >= 1). Once the
/// target is mined and while its hash is still available (256 blocks) the seed is `blockhash(target)`;
/// after that the target moves to `block.number + seedDelay` — never a stuck state.
library Seeds {
    /// @notice Try to read the seed of `target`.
    /// @return ready false while `target` is not mined yet (the caller reverts).
    /// @return seed blockhash(target), or 0 when the target was too old and moved.
    /// @return newTarget the moved target when `seed` is 0 and `ready` is true.
    function tryRecord(uint256 target, uint256 seedDelay)
        internal
        view
        returns (bool ready, bytes32 seed, uint256 newTarget)
    {
        if (block.number <= target) return (false, 0, target);
        if (block.number - target > 256) return (true, 0, block.number + seedDelay);
        return (true, blockhash(target), target);
    }

    /// @notice keccak256(abi.encode(seed, label)).
    function derive(bytes32 seed, string memory label) internal pure returns (bytes32) {
        return keccak256(abi.encode(seed, label));
    }
}
