"""The trees a solver commits to (docs/PROTOCOL.md §4), built from per-step and checkpoint ``stateHash``es.

``segRoot_i`` = tree over step leaves ``j = 0..K`` of segment ``i`` (stateHash((i-1)K + j));
``stateRoot`` = tree over checkpoint leaves ``i = 0..N``; ``segRootsRoot`` = tree over segment
leaves ``i = 1..N``. Every leaf is bound to ``(jobId, attempt, position)`` by ``merkle.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.errors import TraceError
from node.trace.merkle import MerkleTree, checkpoint_leaf, segment_leaf, step_leaf


def seg_root(job_id: int, attempt: int, segment: int, step_hashes: Sequence[bytes]) -> bytes:
    """``segRoot_segment`` from the K+1 stateHashes of the segment (its two checkpoints included)."""
    return segment_tree(job_id, attempt, segment, step_hashes).root


def segment_tree(
    job_id: int, attempt: int, segment: int, step_hashes: Sequence[bytes]
) -> MerkleTree:
    """The step-leaf tree of one segment (for proofs of step leaves in disputes)."""
    if segment < 1:
        raise TraceError(f"segments are numbered from 1, got {segment}")
    leaves = [step_leaf(job_id, attempt, segment, j, h) for j, h in enumerate(step_hashes)]
    return MerkleTree.build(leaves)


@dataclass(frozen=True)
class Commitment:
    """Roots and leaves of one attempt's trace, plus the proof that finalStateHash is leaf N."""

    job_id: int
    attempt: int
    checkpoint_hashes: tuple[bytes, ...]
    checkpoint_leaves: tuple[bytes, ...]
    segment_leaves: tuple[bytes, ...]
    state_root: bytes
    seg_roots_root: bytes
    final_state_hash: bytes
    final_state_proof: tuple[bytes, ...]


def build_commitment(
    job_id: int, attempt: int, checkpoint_hashes: Sequence[bytes], seg_roots: Sequence[bytes]
) -> Commitment:
    """Trees over N+1 checkpoint stateHashes and N segment roots."""
    n = len(seg_roots)
    if n < 1 or len(checkpoint_hashes) != n + 1:
        raise TraceError(
            f"need N+1 checkpoint hashes for N >= 1 segments, got {len(checkpoint_hashes)} and {n}"
        )
    cp_leaves = [checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(checkpoint_hashes)]
    seg_leaves = [segment_leaf(job_id, attempt, i + 1, r) for i, r in enumerate(seg_roots)]
    state_tree = MerkleTree.build(cp_leaves)
    return Commitment(
        job_id=job_id,
        attempt=attempt,
        checkpoint_hashes=tuple(checkpoint_hashes),
        checkpoint_leaves=tuple(cp_leaves),
        segment_leaves=tuple(seg_leaves),
        state_root=state_tree.root,
        seg_roots_root=MerkleTree.build(seg_leaves).root,
        final_state_hash=checkpoint_hashes[-1],
        final_state_proof=tuple(state_tree.proof(n)),
    )
