"""What the verifier's decision logic can ask for. The responder is the only code that turns these
into transactions; ``Replay`` is local work the player does before deciding again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Replay:
    job_id: int
    attempt: int
    segment: int
    """0 = check the initial state."""


@dataclass(frozen=True)
class RecordSeed:
    job_id: int
    attempt: int


@dataclass(frozen=True)
class CommitAttestation:
    job_id: int
    attempt: int
    segments: tuple[int, ...]


@dataclass(frozen=True)
class RevealAttestation:
    job_id: int
    attempt: int
    segments: tuple[int, ...]


@dataclass(frozen=True)
class CommitChallenge:
    job_id: int
    attempt: int
    segment: int


@dataclass(frozen=True)
class RevealChallenge:
    job_id: int
    attempt: int
    segment: int


@dataclass(frozen=True)
class OpenAvailabilityClaim:
    job_id: int
    attempt: int
    checkpoint: int | None
    """None = the manifest."""


@dataclass(frozen=True)
class Withdraw:
    pass


Action = (
    Replay
    | RecordSeed
    | CommitAttestation
    | RevealAttestation
    | CommitChallenge
    | RevealChallenge
    | OpenAvailabilityClaim
    | Withdraw
)
