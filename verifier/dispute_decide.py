"""Pure decision logic of a verifier in one dispute: as the challenger and as a juror (DESIGN §7).

Input: the typed ``Dispute`` as the chain stores it, what this verifier knows locally
(``DisputeKnowledge``: its honest step hashes, its salted digest once computed, its vote moves)
and the chain clock. Output: actions for the responder. The same clock rules as the contract,
all inclusive: the mover may move while ``now <= lastMoveAt + clockLeft``; anyone may call
``timeout`` after that; votes commit while ``now <= commitDeadline`` and reveal while
``commitDeadline < now <= revealDeadline``; ``resolve`` after ``revealDeadline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.chain.dispute_types import Dispute, DisputePhase
from verifier.bisection import index_of_subrange, pick_subrange


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


DisputeAction = (
    ChooseRange | Timeout | RecordDisputeSeed | ComputeDigest | CommitVote | RevealVote | Resolve
)


@dataclass(frozen=True)
class DisputeKnowledge:
    me: str
    block_number: int
    honest_hashes: tuple[bytes, ...] = ()
    """this verifier's replayed stateHashes of the segment (step 0..K), when it is the challenger."""
    proposal: tuple[bytes, ...] = ()
    """the solver's pending split hashes (from ``SplitProposed``)."""
    degree: int = 16
    jurors: tuple[str, ...] = ()
    """jurors of the current round."""
    digest_ready: bool = False
    vote_committed: bool = False
    vote_revealed: bool = False


def _clock_actions(d: Dispute, me_is: str, now: int) -> list[DisputeAction]:
    deadline = d.clock_deadline()
    if deadline is None or d.to_move == me_is:
        return []
    return [Timeout(d.dispute_id)] if now > deadline else []


def decide_dispute(d: Dispute, known: DisputeKnowledge, now: int) -> list[DisputeAction]:
    """Actions of this verifier (challenger and/or juror) in dispute ``d`` at chain time ``now``."""
    if d.phase in (DisputePhase.NONE, DisputePhase.RESOLVED):
        return []
    challenger = d.challenger.lower() == known.me.lower()
    juror = known.me.lower() in {j.lower() for j in known.jurors}
    if d.phase in (DisputePhase.OPENING, DisputePhase.PROPOSE, DisputePhase.CHOOSE):
        if not challenger:
            return []
        if d.phase is DisputePhase.CHOOSE:
            return [_choose(d, known)]
        return _clock_actions(d, "challenger", now)
    if d.phase in (DisputePhase.JURY_SEED, DisputePhase.JURY_SALT):
        return [RecordDisputeSeed(d.dispute_id)] if known.block_number >= d.seed_block else []
    # Voting
    if now > d.reveal_deadline:
        return [Resolve(d.dispute_id)]
    if not (challenger or juror):
        return []
    if now <= d.commit_deadline and not known.vote_committed:
        if not known.digest_ready:
            return [ComputeDigest(d.dispute_id, d.round)]
        return [CommitVote(d.dispute_id, d.round)]
    if now > d.commit_deadline and known.vote_committed and not known.vote_revealed:
        return [RevealVote(d.dispute_id, d.round)]
    return []


def _choose(d: Dispute, known: DisputeKnowledge) -> ChooseRange:
    opened = _opened(d, known.proposal, known.degree)
    sub = pick_subrange(d.lo, d.hi, known.degree, opened, known.honest_hashes)
    k = index_of_subrange(d.lo, d.hi, known.degree, sub)
    return ChooseRange(d.dispute_id, k, known.proposal)


def _opened(d: Dispute, proposal: Sequence[bytes], degree: int) -> dict[int, bytes]:
    from verifier.bisection import split_points

    points = split_points(d.lo, d.hi, degree)
    if len(points) != len(proposal):
        raise ValueError(f"proposal of {len(proposal)} hashes for {len(points)} split points")
    return dict(zip(points, proposal, strict=True))
