"""One verifier's check of one segment (or of the initial state) of a committed trace.

Combines evidence (fetch and hash-check the start checkpoint) and replay into a single
``Finding`` the decision logic acts on: attest with the replayed ``segRoot``, challenge, or claim
that published data is unavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from node.storage import BlobStore
from node.trace.manifest import Manifest
from node.trace.state import TrainState
from node.training.session import TrainingSession
from verifier.evidence import ManifestView, TraceFault, TraceFaultError, fetch_checkpoint
from verifier.replay import SegmentReplay, Verdict, initial_state_ok, judge_segment, replay_segment


@dataclass(frozen=True)
class Finding:
    """Outcome of checking ``segment`` (0 = the initial state)."""

    segment: int
    verdict: Verdict | None
    """None when the check could not run (see ``fault``)."""
    replay: SegmentReplay | None = None
    fault: TraceFault | None = None
    fault_checkpoint: int | None = None

    @property
    def fraud(self) -> bool:
        return self.verdict is not None and self.verdict is not Verdict.MATCH


def audit_segment(
    session: TrainingSession,
    store: BlobStore,
    manifest: Manifest,
    *,
    job_id: int,
    attempt: int,
    segment: int,
    initial_state: Callable[[], TrainState] | None = None,
) -> Finding:
    """Replay ``segment`` (1..N) from its checked start, or check the initial state (0) against
    ``initial_state()`` (the spec's by default; a unit's round-start state for a rounds job)."""
    view = ManifestView(manifest)
    if segment == 0:
        ok = initial_state_ok(session, view, initial_state)
        return Finding(0, Verdict.MATCH if ok else Verdict.CHECKPOINT_MISMATCH)
    try:
        start = fetch_checkpoint(session.spec, store, manifest, segment - 1)
        fetch_checkpoint(session.spec, store, manifest, segment)  # must be published too
    except TraceFaultError as err:
        return Finding(segment, None, fault=err.fault, fault_checkpoint=err.checkpoint)
    replay = replay_segment(session, start, job_id=job_id, attempt=attempt, segment=segment)
    return Finding(segment, judge_segment(replay, view), replay)
