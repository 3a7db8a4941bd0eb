"""Typed events of ``Attestations``, ``DisputeGame`` and ``Jury`` (same conventions as ``events.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import ChecksumAddress

from node.chain.events import ChainEvent
from node.chain.types import JobId, Wei

# --- Attestations ---


@dataclass(frozen=True)
class AttestersDrawn(ChainEvent):
    job_id: JobId
    attempt: int
    seed: bytes
    attesters: list[ChecksumAddress]
    sampled: int


@dataclass(frozen=True)
class AttesterSeedMoved(ChainEvent):
    job_id: JobId
    attempt: int
    target_block: int


@dataclass(frozen=True)
class AttestationCommitted(ChainEvent):
    job_id: JobId
    attempt: int
    attester: ChecksumAddress
    digest: bytes


@dataclass(frozen=True)
class AttestationRevealed(ChainEvent):
    job_id: JobId
    attempt: int
    attester: ChecksumAddress
    seg_roots: list[bytes]
    valid_segments: int


ATTESTATIONS_EVENTS: dict[str, type[ChainEvent]] = {
    "AttestersDrawn": AttestersDrawn,
    "AttesterSeedMoved": AttesterSeedMoved,
    "AttestationCommitted": AttestationCommitted,
    "AttestationRevealed": AttestationRevealed,
}

# --- DisputeGame ---


@dataclass(frozen=True)
class ChallengeCommitted(ChainEvent):
    hash: bytes
    challenger: ChecksumAddress
    commit_seq: int


@dataclass(frozen=True)
class DisputeOpened(ChainEvent):
    dispute_id: int
    job_id: JobId
    attempt: int
    kind: int
    target: int
    segment: int
    challenger: ChecksumAddress
    solver: ChecksumAddress
    bond: Wei
    commit_seq: int


@dataclass(frozen=True)
class SegmentOpened(ChainEvent):
    dispute_id: int
    seg_root: bytes
    hash_start: bytes
    hash_end: bytes


@dataclass(frozen=True)
class InitialStateOpened(ChainEvent):
    dispute_id: int
    state_hash0: bytes


@dataclass(frozen=True)
class SplitProposed(ChainEvent):
    dispute_id: int
    points: list[int]
    hashes: list[bytes]


@dataclass(frozen=True)
class RangeChosen(ChainEvent):
    dispute_id: int
    lo: int
    hi: int
    hash_lo: bytes
    hash_hi: bytes


@dataclass(frozen=True)
class StepPinned(ChainEvent):
    dispute_id: int
    step: int
    hash_before: bytes
    hash_after: bytes


@dataclass(frozen=True)
class DisputeTimedOut(ChainEvent):
    dispute_id: int
    party: ChecksumAddress


@dataclass(frozen=True)
class DisputeResolved(ChainEvent):
    dispute_id: int
    outcome: int
    winner: ChecksumAddress
    winner_paid: Wei
    jury_fees: Wei
    burned: Wei


@dataclass(frozen=True)
class JackpotShared(ChainEvent):
    """An open challenge of a convicted segment ended with the conviction and got a share."""

    dispute_id: int
    convicted_by: int
    challenger: ChecksumAddress
    share: Wei


@dataclass(frozen=True)
class JurorSlashed(ChainEvent):
    dispute_id: int
    juror: ChecksumAddress
    amount: Wei


@dataclass(frozen=True)
class AttestersSlashed(ChainEvent):
    dispute_id: int
    attesters: list[ChecksumAddress]
    amounts: list[int]


DISPUTE_GAME_EVENTS: dict[str, type[ChainEvent]] = {
    "ChallengeCommitted": ChallengeCommitted,
    "DisputeOpened": DisputeOpened,
    "SegmentOpened": SegmentOpened,
    "InitialStateOpened": InitialStateOpened,
    "SplitProposed": SplitProposed,
    "RangeChosen": RangeChosen,
    "StepPinned": StepPinned,
    "DisputeTimedOut": DisputeTimedOut,
    "DisputeResolved": DisputeResolved,
    "JackpotShared": JackpotShared,
    "JurorSlashed": JurorSlashed,
    "AttestersSlashed": AttestersSlashed,
}

# --- Jury ---


@dataclass(frozen=True)
class JurySeedMoved(ChainEvent):
    dispute_id: int
    seed_block: int


@dataclass(frozen=True)
class JuryDrawn(ChainEvent):
    dispute_id: int
    round: int
    jurors: list[ChecksumAddress]
    requested: int
    drawn: int
    salt_block: int


@dataclass(frozen=True)
class JurySaltRecorded(ChainEvent):
    dispute_id: int
    salt: bytes
    commit_deadline: int
    reveal_deadline: int


@dataclass(frozen=True)
class VoteCommitted(ChainEvent):
    dispute_id: int
    round: int
    voter: ChecksumAddress


@dataclass(frozen=True)
class VoteRevealed(ChainEvent):
    dispute_id: int
    round: int
    voter: ChecksumAddress
    digest: bytes


@dataclass(frozen=True)
class JuryTied(ChainEvent):
    dispute_id: int
    round: int
    next_size: int
    seed_block: int


@dataclass(frozen=True)
class JuryWaiting(ChainEvent):
    """Fewer than ``min_jurors`` could sit: the round is drawn again from ``seed_block``."""

    dispute_id: int
    round: int
    seatable: int
    min_jurors: int
    seed_block: int


@dataclass(frozen=True)
class JuryNotSeated(ChainEvent):
    """The draw deadline passed without enough jurors: the dispute is void."""

    dispute_id: int
    round: int
    seatable: int


@dataclass(frozen=True)
class JuryDecided(ChainEvent):
    dispute_id: int
    solver_wrong: bool


JURY_EVENTS: dict[str, type[ChainEvent]] = {
    "JurySeedMoved": JurySeedMoved,
    "JuryDrawn": JuryDrawn,
    "JurySaltRecorded": JurySaltRecorded,
    "VoteCommitted": VoteCommitted,
    "VoteRevealed": VoteRevealed,
    "JuryTied": JuryTied,
    "JuryWaiting": JuryWaiting,
    "JuryNotSeated": JuryNotSeated,
    "JuryDecided": JuryDecided,
}
