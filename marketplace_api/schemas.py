"""Public API models (pydantic): what the read API returns, named in the protocol's words.

Wei amounts are decimal strings: JSON numbers above 2^53 lose digits in JavaScript.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from marketplace_api.dispute_schemas import AttestationPublic, DisputePublic
from marketplace_api.market_schemas import JobClaimPublic


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class JobPublic(_Public):
    job_id: int
    status: str
    submitter: str
    solver: str | None
    spec_hash: str
    spec_address: str
    reward: str
    verifier_fee: str
    steps: int
    checkpoint_every: int
    segments: int
    solve_timeout: int
    sample_rate_bps: int
    attempt: int
    locked_stake: str
    deadline: int
    open_disputes: int
    frozen: bool
    manifest_hash: str | None
    posted_block: int
    posted_tx: str
    updated_block: int


class JobsPage(_Public):
    items: list[JobPublic]
    total: int
    limit: int
    offset: int


class EventPublic(_Public):
    name: str
    contract: str
    block_number: int
    log_index: int
    tx_hash: str
    args: dict[str, Any]


class TraceSummary(_Public):
    state_root: str
    seg_roots_root: str
    final_state_hash: str
    manifest_hash: str
    manifest_address: str
    manifest_available: bool
    checkpoints: int | None
    segments: int
    final_loss: float | None
    final_validation_loss: float | None = None


class LossPoint(_Public):
    step: int
    loss: float | None


class JobDetail(JobPublic):
    trace: TraceSummary | None
    loss_curve: list[LossPoint]
    validation_curve: list[LossPoint]
    """Held-out loss at each checkpoint (from the manifest; empty without a validation split)."""
    spec: dict[str, Any] | None
    attestations: list[AttestationPublic]
    disputes: list[DisputePublic]
    events: list[EventPublic]
    claims: list[JobClaimPublic]
    """Each attempt's claim and the price it fixed (docs/MARKET.md), oldest first."""


class AccountPublic(_Public):
    address: str
    staked: str
    locked: str
    unbonding: str
    slashed: str
    earned: str
    credited: str
    withdrawn: str
    jobs_posted: int
    jobs_claimed: int
    jobs_finalized: int
    jobs_timed_out: int
    jobs_reopened: int
    attestations: int
    challenges: int
    earnings: dict[str, str] = {}
    """Payouts by kind: reward, attestation_fee, jackpot, jury_fee, bond_share, compensation,
    refund (not counted in ``earned``), other."""
    slashes: dict[str, str] = {}
    """Stake lost by kind: fraud, bond, attester, juror, solve_timeout."""


class AccountsPage(_Public):
    items: list[AccountPublic]
    total: int
    limit: int
    offset: int


class NetworkStats(_Public):
    jobs_total: int
    jobs_by_status: dict[str, int]
    reward_posted: str
    reward_paid: str
    total_staked: str
    total_slashed: str
    accounts: int
    solvers: int
    verifiers: int
    events_indexed: int
    disputes_total: int
    disputes_by_outcome: dict[str, int]
    """``none`` (still open), ``solver_wrong``, ``challenger_wrong``, ``void``."""
    attestations_revealed: int
    indexed_block: int | None
    chain_head: int | None
    reorgs: int


class BlobStored(_Public):
    address: str
    size: int
    created: bool


class SpecStored(_Public):
    address: str
    spec_hash: str
    segments: int
    spec: dict[str, Any]


class Health(_Public):
    status: str
    indexed_block: int | None
    chain_head: int | None
    indexer_error: str | None
