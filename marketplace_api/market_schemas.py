"""Public models of the market view (docs/MARKET.md, "Market view"): the order book, the clearing
prices and a solver's track record. Wei amounts are decimal strings; prices per PFLOP are tokens
(1e18 wei) per 10^15 estimated FLOPs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EstimateSummary(_Public):
    """What the spec's estimate (``node.training.estimate``) says one job of its steps costs."""

    pflop: float
    params: int
    flops_per_step: int
    peak_memory_bytes: dict[str, int]
    checkpoint_bytes: int
    segments: int
    verifier_flops: int


class Needs(_Public):
    """What a machine needs to run the job: the spec's device (else any) and the larger of the
    estimated peak memory of the spec's runtime and the spec's stated minimum."""

    device: str
    memory_bytes: int | None
    memory_from: str
    """``spec`` (its ``requirements.min_memory_bytes`` is the larger) or ``estimate``."""


class MarketJob(_Public):
    """An open job: the auction's offer at ``MarketPage.now`` and what the job needs."""

    job_id: int
    submitter: str
    spec_address: str
    attempt: int
    price: str
    """The offer now: what a claim in the next block would fix (at least this)."""
    price_per_pflop: float | None
    cap: str
    floor: str
    ramp_start: int
    ramp: int
    ramp_left: int
    """Seconds until the offer reaches the cap (0: it has, or the price is fixed)."""
    min_finalized: int
    verifier_fee: str
    solve_timeout: int
    steps: int
    spec_available: bool
    """Whether this API holds a valid spec for the job (without one: no estimate, no
    requirements, no needs)."""
    requirements: dict[str, Any] | None
    """The spec's ``requirements`` section as stated (None: it states none)."""
    needs: Needs | None
    """None only when this API does not hold the spec."""
    estimate: EstimateSummary | None


class MarketPage(_Public):
    now: int
    """The chain time (latest block) the offers are priced at; the API's clock when ``live`` is
    false."""
    live: bool
    """True: terms and clock read from the chain now; False: this API has no chain connection,
    so each job shows its posted reward as a fixed price."""
    items: list[MarketJob]
    total: int


class ClearingPoint(_Public):
    """One claim: the price it fixed, when, and per PFLOP of the job's estimate."""

    job_id: int
    attempt: int
    solver: str
    price: str
    cap: str
    price_per_pflop: float | None
    block_number: int
    block_time: int | None
    tx_hash: str


class JobClaimPublic(_Public):
    """One claim of a job's attempt: who, and the price it fixed under which cap."""

    attempt: int
    solver: str
    price: str
    cap: str
    block_number: int
    block_time: int | None


class ClearingPage(_Public):
    items: list[ClearingPoint]
    total: int
    limit: int
    offset: int


class TrackRecord(_Public):
    """The four counters ``JobMarket.recordOf`` keeps (value in wei)."""

    finalized: int
    value: str
    frauds: int
    timeouts: int


class SolverClaim(_Public):
    job_id: int
    attempt: int
    price: str
    price_per_pflop: float | None
    status: str
    """The job's state now (a later attempt's claim by someone else shows as that job's state)."""
    block_number: int
    block_time: int | None


class SolverRecordPublic(_Public):
    address: str
    record: TrackRecord | None
    """The chain's counters, read live; None when this API has no chain connection."""
    indexed: TrackRecord
    """The same counters recounted from indexed events: they match ``record`` once the indexer
    has caught up (a mismatch means it has not)."""
    claims: list[SolverClaim]
    """The latest claims, newest first."""
