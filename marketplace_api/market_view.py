"""The market as people see it (docs/MARKET.md, "Market view"): one open job's offer now, its
price per PFLOP, its requirements and its estimate.

Pure functions of chain facts (a job's price terms, the chain's clock) and of the spec, shared by
``GET /market`` and ``crowdtrain market`` so the CLI and the API print the same numbers. The offer
is the contract's own price function (``node.chain.pricing.offer_at``, bit-exact), never a
re-derivation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from marketplace_api.market_schemas import EstimateSummary, MarketJob, Needs
from node.chain.pricing import offer_at, price_per_pflop
from node.training.estimate import JobEstimate, estimate_job
from node.training.spec import JobSpec

K = TypeVar("K")
V = TypeVar("V")


class PriceTerms(Protocol):
    """A job's price terms as ``JobMarket.termsOf`` returns them (``node.chain`` ``JobTerms``)."""

    @property
    def floor(self) -> int: ...
    @property
    def cap(self) -> int: ...
    @property
    def ramp_start(self) -> int: ...
    @property
    def ramp(self) -> int: ...
    @property
    def min_finalized(self) -> int: ...


def job_pflop(estimate: JobEstimate, steps: int) -> float:
    """PFLOP of one job of ``steps`` steps: a plain job's whole estimate, a rounds unit's share
    (its own inner steps of one worker), so a unit's price per PFLOP compares with a job's."""
    return estimate.flops_per_step * steps / 1e15


def estimate_summary(estimate: JobEstimate, steps: int) -> EstimateSummary:
    return EstimateSummary(
        pflop=job_pflop(estimate, steps),
        params=estimate.params,
        flops_per_step=estimate.flops_per_step,
        peak_memory_bytes=dict(estimate.peak_memory_bytes),
        checkpoint_bytes=estimate.checkpoint_bytes,
        segments=estimate.segments,
        verifier_flops=estimate.verifier_flops,
    )


def requirements_of(spec: JobSpec) -> dict[str, Any] | None:
    """The spec's ``requirements`` section as JSON, None when it states none (the estimate then
    decides what a machine needs)."""
    if spec.requirements is None:
        return None
    dumped: dict[str, Any] = spec.requirements.model_dump(mode="json")
    return dumped


def needs_of(spec: JobSpec, estimate: JobEstimate) -> Needs:
    """What a machine needs, by the solver daemon's rule (``node.solver.policy``): the spec's
    device (else any), and the estimate's peak memory of the spec's runtime or the spec's stated
    minimum when larger (a requirement raises the bar, never lowers it)."""
    from node.solver.policy import memory_needed

    device = spec.requirements.device if spec.requirements is not None else "any"
    needed = memory_needed(spec, estimate)
    peak = estimate.peak_memory_bytes.get(spec.runtime)
    return Needs(
        device=device, memory_bytes=needed, memory_from="estimate" if needed == peak else "spec"
    )


def market_job(
    *,
    job_id: int,
    submitter: str,
    spec_hash: str,
    attempt: int,
    steps: int,
    verifier_fee: int,
    solve_timeout: int,
    terms: PriceTerms,
    now: int,
    spec: JobSpec | None,
    estimate: JobEstimate | None,
) -> MarketJob:
    """One open job as the order book lists it, priced at chain time ``now``."""
    price = offer_at(terms.floor, terms.cap, terms.ramp_start, terms.ramp, now)
    summary = estimate_summary(estimate, steps) if estimate is not None else None
    per_pflop = (
        price_per_pflop(price, summary.pflop) if summary is not None and summary.pflop > 0 else None
    )
    return MarketJob(
        job_id=job_id,
        submitter=submitter,
        spec_address="sha256:" + spec_hash.removeprefix("0x"),
        attempt=attempt,
        price=str(price),
        price_per_pflop=per_pflop,
        cap=str(terms.cap),
        floor=str(terms.floor),
        ramp_start=terms.ramp_start,
        ramp=terms.ramp,
        ramp_left=max(0, terms.ramp_start + terms.ramp - now) if terms.floor < terms.cap else 0,
        min_finalized=terms.min_finalized,
        verifier_fee=str(verifier_fee),
        solve_timeout=solve_timeout,
        steps=steps,
        spec_available=spec is not None,
        requirements=requirements_of(spec) if spec is not None else None,
        needs=needs_of(spec, estimate) if spec is not None and estimate is not None else None,
        estimate=summary,
    )


def order_book(jobs: list[MarketJob]) -> list[MarketJob]:
    """Best paid first: price per PFLOP descending, jobs without an estimate last (by job id)."""
    return sorted(
        jobs,
        key=lambda j: (j.price_per_pflop is None, -(j.price_per_pflop or 0.0), j.job_id),
    )


class Memo(Generic[K, V]):
    """A bounded LRU of values that never change under their key: a spec's estimate (by spec
    hash: a blob never changes) and an open job's terms (by job id and attempt: only a reopen,
    which starts a new attempt, restarts the ramp). Bounded so a long-running API does not grow
    with every job it ever saw; ``load`` returning None is not remembered."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V | None]) -> V | None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = load()
        if value is None:
            return None
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value


EstimateCache = Memo[str, tuple[JobSpec, JobEstimate]]
TermsCache = Memo[tuple[int, int], PriceTerms]


def load_estimate(
    load_spec: Callable[[], JobSpec | None],
) -> Callable[[], tuple[JobSpec, JobEstimate] | None]:
    """``load_spec`` then the spec's estimate, as one loader for an ``EstimateCache``."""

    def load() -> tuple[JobSpec, JobEstimate] | None:
        spec = load_spec()
        return (spec, estimate_job(spec)) if spec is not None else None

    return load
