"""Position-bound, fixed-depth binary Merkle trees, byte-identical to ``TraceMerkle.sol`` (docs/PROTOCOL.md §4).

Leaves are double-hashed over ``abi.encode`` of their job, attempt and position, so a leaf from
one job, attempt or index can never stand in for another. Nodes hash ``left || right`` in index
order, padded with zero to the next power of two; a proof's length is fixed by the leaf count.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak

ZERO = b"\x00" * 32


def _word(value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        if len(value) != 32:
            raise ValueError(f"expected a 32-byte word, got {len(value)} bytes")
        return value
    if value < 0 or value >= 1 << 256:
        raise ValueError(f"{value} does not fit in uint256")
    return value.to_bytes(32, "big")


def _leaf(*fields: int | bytes) -> bytes:
    return keccak(keccak(b"".join(_word(f) for f in fields)))


def checkpoint_leaf(job_id: int, attempt: int, index: int, state_hash: bytes) -> bytes:
    """Checkpoint leaf ``index`` (0..N), carrying ``stateHash(index·K)``."""
    return _leaf(job_id, attempt, index, state_hash)


def step_leaf(job_id: int, attempt: int, segment: int, step: int, state_hash: bytes) -> bytes:
    """Step leaf ``step`` (0..K) of segment ``segment``, carrying ``stateHash((segment-1)·K + step)``."""
    return _leaf(job_id, attempt, segment, step, state_hash)


def segment_leaf(job_id: int, attempt: int, segment: int, seg_root: bytes) -> bytes:
    """Segment leaf ``segment`` (1..N), carrying ``segRoot_segment``."""
    return _leaf(job_id, attempt, segment, seg_root)


def hash_pair(left: bytes, right: bytes) -> bytes:
    return keccak(left + right)


def depth(leaf_count: int) -> int:
    """ceil(log2(leaf_count)); a single leaf has depth 0."""
    if leaf_count < 1:
        raise ValueError("a tree needs at least one leaf")
    return (leaf_count - 1).bit_length()


@dataclass(frozen=True)
class MerkleTree:
    """All levels of a tree, so proofs for every index are cheap."""

    levels: tuple[tuple[bytes, ...], ...]
    leaf_count: int

    @classmethod
    def build(cls, leaves: list[bytes]) -> MerkleTree:
        width = 1 << depth(len(leaves))
        level = [_word(leaf) for leaf in leaves] + [ZERO] * (width - len(leaves))
        levels = [tuple(level)]
        while len(level) > 1:
            level = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
            levels.append(tuple(level))
        return cls(levels=tuple(levels), leaf_count=len(leaves))

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, index: int) -> list[bytes]:
        """Sibling list from the leaf up, as ``TraceMerkle.verify`` expects."""
        if not 0 <= index < self.leaf_count:
            raise IndexError(f"leaf index {index} outside a tree of {self.leaf_count} leaves")
        siblings = []
        for level in self.levels[:-1]:
            siblings.append(level[index ^ 1])
            index >>= 1
        return siblings


def merkle_root(leaves: list[bytes]) -> bytes:
    return MerkleTree.build(leaves).root


def root_from_proof(leaf: bytes, index: int, leaf_count: int, proof: list[bytes]) -> bytes:
    if not 0 <= index < leaf_count:
        raise IndexError(f"leaf index {index} outside a tree of {leaf_count} leaves")
    if len(proof) != depth(leaf_count):
        raise ValueError(f"proof of length {len(proof)} for a tree of {leaf_count} leaves")
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling) if index & 1 == 0 else hash_pair(sibling, node)
        index >>= 1
    return node


def verify_proof(root: bytes, leaf: bytes, index: int, leaf_count: int, proof: list[bytes]) -> bool:
    try:
        return root_from_proof(leaf, index, leaf_count, proof) == root
    except (IndexError, ValueError):
        return False
