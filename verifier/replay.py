"""Replaying one segment of a committed trace with the job's own runtime (docs/PROTOCOL.md §4, §6).

A segment's replay starts from checkpoint ``i-1`` (hash-checked), runs K steps of
``TrainingSession.step`` — the very function the solver trained with — and yields every step's
``stateHash``. From those the verifier rebuilds ``segRoot_i`` with leaves bound to (jobId,
attempt, i), which is the only way to learn the value it must attest, and compares the result with
the manifest's segment leaf ``i`` and checkpoint leaf ``i``. The same code regenerates the state at
an interior step ``j`` for a dispute (solver side) and runs one step for jury duty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from node.trace.commitment import seg_root
from node.trace.merkle import segment_leaf
from node.trace.state import TrainState, state_hash
from node.training.session import TrainingSession
from verifier.evidence import ManifestView


class Verdict(StrEnum):
    """How a replayed segment compares with what the solver published."""

    MATCH = "match"
    """segment leaf i and checkpoint i both match: attest."""
    SEGMENT_MISMATCH = "segment_mismatch"
    """the committed segRoot_i differs from the honest one: challenge segment i."""
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    """checkpoint i differs from the replayed end state: challenge segment i."""


@dataclass(frozen=True)
class SegmentReplay:
    """The honest trace of segment ``segment``: K+1 stateHashes, its root and segment leaf."""

    job_id: int
    attempt: int
    segment: int
    state_hashes: tuple[bytes, ...]
    losses: tuple[float, ...]
    seg_root: bytes
    segment_leaf: bytes


def replay_segment(
    session: TrainingSession, start: TrainState, *, job_id: int, attempt: int, segment: int
) -> SegmentReplay:
    """Run the K steps of ``segment`` from its start state (checkpoint ``segment-1``)."""
    k = session.spec.checkpoint_every
    if start.step != (segment - 1) * k:
        raise ValueError(f"segment {segment} starts at step {(segment - 1) * k}, got {start.step}")
    hashes, losses, state = [state_hash(start)], [], start
    for _ in range(k):
        state = session.step(state)
        hashes.append(state_hash(state))
        losses.append(float(state.loss))
    root = seg_root(job_id, attempt, segment, hashes)
    return SegmentReplay(
        job_id=job_id,
        attempt=attempt,
        segment=segment,
        state_hashes=tuple(hashes),
        losses=tuple(losses),
        seg_root=root,
        segment_leaf=segment_leaf(job_id, attempt, segment, root),
    )


def judge_segment(replay: SegmentReplay, view: ManifestView) -> Verdict:
    """Compare a replay with the manifest's segment leaf and end checkpoint."""
    if view.checkpoint_hash(replay.segment) != replay.state_hashes[-1]:
        return Verdict.CHECKPOINT_MISMATCH
    if view.segment_leaf(replay.segment) != replay.segment_leaf:
        return Verdict.SEGMENT_MISMATCH
    return Verdict.MATCH


def initial_state_ok(
    session: TrainingSession,
    view: ManifestView,
    initial_state: Callable[[], TrainState] | None = None,
) -> bool:
    """Whether checkpoint 0 is the honest state 0 (challenge ``i = 0`` when not): the spec's
    initial state, or ``initial_state()`` (a unit's round-start state, docs/ROUNDS.md)."""
    expected = (initial_state or session.initial_state)()
    return state_hash(expected) == view.checkpoint_hash(0)


def regenerate_state(session: TrainingSession, start: TrainState, step: int) -> TrainState:
    """The state at absolute ``step`` from an earlier checkpoint state (for disputes and jurors)."""
    if step < start.step:
        raise ValueError(f"cannot regenerate step {step} from a later state (step {start.step})")
    state = start
    while state.step < step:
        state = session.step(state)
    return state
