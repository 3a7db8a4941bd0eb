"""Public API models of attestations, disputes (moves, jury rounds) and the payout/slash ledger.

Names follow the contracts (``segRoot`` → ``seg_root``, ``StepPinned`` → ``pinned_step``); enum
values are their lower-case protocol names; wei amounts are decimal strings.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AttestationPublic(_Public):
    """One drawn attester of one attempt: assigned segments, commit, reveal, fee and slash."""

    job_id: int
    attempt: int
    attester: str
    draw_index: int
    segments: list[int]
    committed: bool
    committed_block: int | None
    revealed: bool
    revealed_block: int | None
    seg_roots: list[str] | None
    valid_segments: int
    paid: str
    slashed: str


class DisputeMovePublic(_Public):
    """One event of a dispute; ``role`` is solver, challenger, juror, anyone or protocol."""

    name: str
    contract: str
    actor: str | None
    role: str
    block_number: int
    log_index: int
    tx_hash: str
    block_time: int | None
    args: dict[str, Any]


class JuryVotePublic(_Public):
    voter: str
    role: str
    committed: bool
    revealed: bool
    digest: str | None
    matches_solver: bool | None
    """Whether the revealed digest equals the solver's (None: not revealed, or no solver digest)."""
    fee: str
    slashed: str


class JuryPanelPublic(_Public):
    round: int
    requested: int
    drawn: int
    jurors: list[str]
    salt: str | None
    commit_deadline: int | None
    reveal_deadline: int | None
    tied_next_size: int | None
    votes: list[JuryVotePublic]


class LedgerEntryPublic(_Public):
    """A payout or a slash: ``kind`` says why."""

    account: str
    kind: str
    amount: str
    job_id: int | None
    dispute_id: int | None
    block_number: int
    tx_hash: str


class DisputePublic(_Public):
    """A dispute and where it stands: bisection range, pinned step, outcome and payouts."""

    dispute_id: int
    job_id: int
    attempt: int
    kind: str
    target: str
    segment: int
    challenger: str
    solver: str
    bond: str
    commit_seq: int | None
    """The sealed challenge's sequence number (informational: a conviction splits the jackpot among
    every open challenge of the segment)."""
    phase: str
    status: str
    lo: int | None
    hi: int | None
    seg_root: str | None
    pinned_step: int | None
    hash_before: str | None
    hash_after: str | None
    timed_out: str | None
    jury_verdict: str | None
    outcome: str
    winner: str | None
    winner_paid: str
    jury_fees: str
    burned: str
    convicted_by: int | None
    """The conviction that ended this challenge with an equal share of its jackpot
    (``winner_paid`` is the share)."""
    challenge_fee: str
    """The challenge fee burned from the challenger's stake when the dispute ended."""
    opened_block: int
    opened_tx: str
    opened_at: int | None
    resolved_block: int | None
    resolved_tx: str | None
    resolved_at: int | None
    moves: list[DisputeMovePublic]


class DisputeDetail(DisputePublic):
    jury: list[JuryPanelPublic]
    payouts: list[LedgerEntryPublic]
    slashes: list[LedgerEntryPublic]


class DisputesPage(_Public):
    items: list[DisputePublic]
    total: int
    limit: int
    offset: int


class AccountLedger(_Public):
    payouts: list[LedgerEntryPublic]
    slashes: list[LedgerEntryPublic]
