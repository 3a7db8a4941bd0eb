"""Pure decision logic of a verifier in one dispute: as the challenger and as a juror (docs/PROTOCOL.md §6).

Input: the typed ``Dispute`` and its jury ``Panel`` (None before the step is pinned) as the chain
stores them, what this verifier knows locally
(``DisputeKnowledge``: its honest step hashes, its salted digest once computed, its vote moves)
and the chain clock. Output: actions for the responder. The same clock rules as the contract,
all inclusive: the mover may move while ``now <= lastMoveAt + clockLeft``; anyone may call
``timeout`` after that; votes commit while ``now <= commitDeadline`` and reveal while
``commitDeadline < now <= revealDeadline``; ``resolve`` after ``revealDeadline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.chain.dispute_types import Dispute, DisputePhase, JuryPhase, Panel
from verifier.bisection import index_of_subrange, pick_subrange, split_points


@dataclass(frozen=True)
class ChooseRange:
    dispute_id: int
    k: int
    hashes: tuple[bytes, ...]


@dataclass(frozen=True)
class Timeout:
    dispute_id: int


@dataclass(frozen=True)
class RecordDisputeSeed:
    dispute_id: int


@dataclass(frozen=True)
class ComputeDigest:
    """Local work: the salted digest this voter will commit (state(j+1), state 0 or a blob)."""

    dispute_id: int
    round: int


@dataclass(frozen=True)
class CommitVote:
    dispute_id: int
    round: int


@dataclass(frozen=True)
class RevealVote:
    dispute_id: int
    round: int


@dataclass(frozen=True)
class Resolve:
    dispute_id: int


@dataclass(frozen=True)
class VoidStale:
    """The dispute's job attempt ended (another dispute reopened it): release its locks."""

    dispute_id: int


DisputeAction = (
    ChooseRange
    | Timeout
    | RecordDisputeSeed
    | ComputeDigest
    | CommitVote
    | RevealVote
    | Resolve
    | VoidStale
)


@dataclass(frozen=True)
class DisputeKnowledge:
    me: str
    block_number: int
    honest_hashes: tuple[bytes, ...] = ()
    """this verifier's replayed stateHashes of the segment (step 0..K), when it is the challenger."""
    proposal: tuple[bytes, ...] = ()
    """the solver's pending split hashes (from ``SplitProposed``)."""
    proposal_points: tuple[int, ...] = ()
    """the split points of that proposal: it answers the current range only if they are its points."""
    degree: int = 16
    jurors: tuple[str, ...] = ()
    """jurors of the current round."""
    digest_ready: bool = False
    vote_committed: bool = False
    vote_revealed: bool = False
    job_attempt: int | None = None
    """the job's current attempt (None: unknown, assumed live)."""


def _clock_actions(d: Dispute, me_is: str, now: int) -> list[DisputeAction]:
    deadline = d.clock_deadline()
    if deadline is None or d.to_move == me_is:
        return []
    return [Timeout(d.dispute_id)] if now > deadline else []


def decide_dispute(
    d: Dispute, panel: Panel | None, known: DisputeKnowledge, now: int
) -> list[DisputeAction]:
    """Actions of this verifier (challenger and/or juror) in dispute ``d`` at chain time ``now``."""
    if d.phase in (DisputePhase.NONE, DisputePhase.RESOLVED):
        return []
    if known.job_attempt is not None and known.job_attempt != d.attempt:
        return [VoidStale(d.dispute_id)]
    challenger = d.challenger.lower() == known.me.lower()
    if d.phase is not DisputePhase.JURY:
        if not challenger:
            return []
        if d.phase is DisputePhase.CHOOSE:
            deadline = d.clock_deadline()
            if deadline is not None and now > deadline:
                return []
            if known.proposal_points != tuple(split_points(d.lo, d.hi, known.degree)):
                return []  # the proposal's event is not indexed yet (or is an older round's): wait
            return [_choose(d, known)]
        return _clock_actions(d, "challenger", now)
    if panel is None:
        return []
    return decide_vote(d.dispute_id, panel, known, now, voter=challenger)


def decide_vote(
    dispute_id: int, panel: Panel, known: DisputeKnowledge, now: int, *, voter: bool
) -> list[DisputeAction]:
    """Jury phase, shared by every participant: record pending seeds, vote (a juror, or a party
    when ``voter``), resolve after the reveal deadline."""
    if panel.phase in (JuryPhase.SEED, JuryPhase.SALT):
        ready = known.block_number > panel.seed_block  # blockhash(b) is readable from block b+1
        return [RecordDisputeSeed(dispute_id)] if ready else []
    if panel.phase is not JuryPhase.VOTING:
        return []
    if now > panel.reveal_deadline:
        return [Resolve(dispute_id)]
    juror = known.me.lower() in {j.lower() for j in known.jurors}
    if not (voter or juror):
        return []
    if now <= panel.commit_deadline and not known.vote_committed:
        if not known.digest_ready:
            return [ComputeDigest(dispute_id, panel.round)]
        return [CommitVote(dispute_id, panel.round)]
    if now > panel.commit_deadline and known.vote_committed and not known.vote_revealed:
        return [RevealVote(dispute_id, panel.round)]
    return []


def _choose(d: Dispute, known: DisputeKnowledge) -> ChooseRange:
    opened = _opened(d, known.proposal, known.degree)
    sub = pick_subrange(d.lo, d.hi, known.degree, opened, known.honest_hashes)
    k = index_of_subrange(d.lo, d.hi, known.degree, sub)
    return ChooseRange(d.dispute_id, k, known.proposal)


def _opened(d: Dispute, proposal: Sequence[bytes], degree: int) -> dict[int, bytes]:
    points = split_points(d.lo, d.hi, degree)
    if len(points) != len(proposal):
        raise ValueError(f"proposal of {len(proposal)} hashes for {len(points)} split points")
    return dict(zip(points, proposal, strict=True))
