"""Pure decision logic of a verifier for one committed job attempt (attestation side, docs/PROTOCOL.md §5).

``decide_job`` takes a typed snapshot of the chain (``JobView``), what this verifier knows locally
(``Knowledge``: replays and moves already made) and the chain time, and returns the actions to take
now. No I/O, no wall clock: every deadline branch is tested with plain values.

Deadlines (inclusive, as on-chain): attestation commits while ``now <= deadline`` (the challenge
window); reveals while ``deadline < now <= deadline + reveal_phase`` and no dispute is open;
challenges and availability claims while ``now <= deadline + reveal_phase``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from node.chain.types import JobStatus
from verifier.actions import (
    Action,
    CommitAttestation,
    CommitChallenge,
    OpenAvailabilityClaim,
    RecordSeed,
    Replay,
    RevealAttestation,
    RevealChallenge,
)


class Outcome(StrEnum):
    """A replay's result as the decision logic sees it."""

    MATCH = "match"
    FRAUD = "fraud"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class JobView:
    """The chain's view of one job attempt, as far as this verifier is concerned."""

    job_id: int
    attempt: int
    status: JobStatus
    deadline: int
    """end of the challenge window (inclusive)."""
    reveal_phase: int
    open_disputes: int
    block_number: int
    seed_target: int
    seed_recorded: bool
    my_segments: tuple[int, ...]
    committed: bool
    """this verifier's attestation digest is on-chain."""
    revealed: bool
    any_revealed: bool
    """someone revealed: the commit phase is closed."""


@dataclass(frozen=True)
class Knowledge:
    """Local facts: replay outcomes per segment (0 = initial state) and moves already mined."""

    outcomes: Mapping[int, Outcome] = field(default_factory=dict)
    unavailable_checkpoint: Mapping[int, int | None] = field(default_factory=dict)
    """segment → the checkpoint found missing (None = the manifest)."""
    challenges_committed: frozenset[int] = frozenset()
    challenges_revealed: frozenset[int] = frozenset()
    claims_opened: frozenset[int | None] = frozenset()
    extra_segments: tuple[int, ...] = ()
    """segments checked beyond the assignment (a verifier may check more)."""


def decide_job(view: JobView, known: Knowledge, now: int) -> list[Action]:
    """Actions for this job attempt at chain time ``now``."""
    if view.status is not JobStatus.COMMITTED:
        return []
    job, attempt = view.job_id, view.attempt
    if not view.seed_recorded:
        if view.block_number > view.seed_target:  # blockhash(b) is readable from block b+1
            return [RecordSeed(job, attempt)]
        return []
    wanted = (*view.my_segments, *known.extra_segments)
    todo = [s for s in dict.fromkeys(wanted) if s not in known.outcomes]
    in_window = now <= view.deadline
    # challenges and availability claims stay open through the reveal phase (IDisputeGame), so a
    # replay that finishes after the window can still catch fraud
    challengeable = now <= view.deadline + view.reveal_phase
    actions: list[Action] = []
    if challengeable and todo:
        actions.extend(Replay(job, attempt, s) for s in todo)
        return actions
    if in_window:
        actions.extend(_challenges(view, known))
        mine = [known.outcomes.get(s) for s in view.my_segments]
        if (
            view.my_segments
            and all(o is Outcome.MATCH for o in mine)
            and not view.committed
            and not view.any_revealed
        ):
            actions.append(CommitAttestation(job, attempt, view.my_segments))
        return actions
    # challenge window over: attestation commits are closed; challenges and claims still count
    if challengeable:
        actions.extend(_challenges(view, known))
    if (
        view.committed
        and not view.revealed
        and view.open_disputes == 0
        and now <= view.deadline + view.reveal_phase
    ):
        actions.append(RevealAttestation(job, attempt, view.my_segments))
    return actions


def _challenges(view: JobView, known: Knowledge) -> list[Action]:
    out: list[Action] = []
    claimed = set(known.claims_opened)
    for segment, outcome in sorted(known.outcomes.items()):
        if outcome is Outcome.FRAUD:
            if segment not in known.challenges_committed:
                out.append(CommitChallenge(view.job_id, view.attempt, segment))
            elif segment not in known.challenges_revealed:
                out.append(RevealChallenge(view.job_id, view.attempt, segment))
        elif outcome is Outcome.UNAVAILABLE:
            missing = known.unavailable_checkpoint.get(segment)
            if missing not in claimed:  # one claim per missing blob, however many segments need it
                claimed.add(missing)
                out.append(OpenAvailabilityClaim(view.job_id, view.attempt, missing))
    return out
