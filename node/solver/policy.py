"""The solver's claim policy: may this machine take this open job now, and if not, why and until when.

``judge`` is THE decision (docs/MARKET.md "Daemon policy"): the daemon asks it before every claim,
and ``crowdtrain bench market`` simulates the market through it, so what the bench measures is what
the daemons do. Pure and free of I/O: every branch is tested with plain values.

A job is left for good (``wait_until`` None) when the machine cannot run it: the wrong device,
too little memory, an expected time too close to the solve timeout (a solver that times out loses
its lock and blocks the job), a track record below the job's minimum, or a cap below the solver's
price. A job whose auction offer is still below the solver's price is waited for: ``wait_until`` is
the first chain time the ascending offer reaches it (the contract's price function,
``node.chain.pricing``), so the daemon re-checks then instead of polling the price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from node.chain.pricing import WEI_PER_TOKEN, offer_at, price_per_pflop, time_to_offer
from node.chain.types import JobTerms, SolverRecord
from node.solver.capability import Capability, format_memory_size
from node.training.estimate import JobEstimate
from node.training.spec import JobSpec

FLOPS_PER_PFLOP = 10**15


@dataclass(frozen=True)
class ClaimPolicy:
    """A solver operator's terms: the least it takes per PFLOP of work (tokens), and how much of
    the solve timeout its expected training time may fill (0.5: twice the time it expects)."""

    min_price_per_pflop: float = 0.0
    time_margin: float = 0.5

    def __post_init__(self) -> None:
        if not math.isfinite(self.min_price_per_pflop) or self.min_price_per_pflop < 0:
            raise ValueError(
                f"min price per PFLOP must be a finite number >= 0, got {self.min_price_per_pflop}"
            )
        if not math.isfinite(self.time_margin) or not 0 < self.time_margin <= 1:
            raise ValueError(f"time margin must be in (0, 1], got {self.time_margin}")


@dataclass(frozen=True)
class Verdict:
    """``claim``: take it now. Otherwise ``reason`` says why not, and ``wait_until`` is the chain
    time from which the price is acceptable (None: never, at this attempt: the job does not fit).

    ``reason`` depends only on the job, its terms, the record and the machine, never on the clock,
    so a daemon can log each skip once."""

    claim: bool
    reason: str
    wait_until: int | None = None


def claim_flops(spec: JobSpec, estimate: JobEstimate) -> int:
    """FLOPs of the work one claim buys: ``steps`` worker steps (one unit of a rounds job, whose
    ``flops_total`` counts every unit of every round)."""
    return estimate.flops_per_step * spec.steps


def min_offer_wei(policy: ClaimPolicy, flops: int) -> int:
    """The least offer (wei) worth ``policy.min_price_per_pflop`` for ``flops`` of work, rounded up
    and computed exactly (a float product could round a just-acceptable offer below it)."""
    exact = Fraction(policy.min_price_per_pflop) * flops * WEI_PER_TOKEN / FLOPS_PER_PFLOP
    return math.ceil(exact)


def memory_needed(spec: JobSpec, estimate: JobEstimate) -> int | None:
    """Peak training memory of the job's runtime from the estimate, or the spec's stated minimum
    when larger (a requirement raises the bar, never lowers it); None when no estimate exists for
    the runtime."""
    peak = estimate.peak_memory_bytes.get(spec.runtime)
    if peak is None:
        return None
    stated = spec.requirements.min_memory_bytes if spec.requirements is not None else None
    return max(peak, stated or 0)


def judge(
    *,
    spec: JobSpec,
    estimate: JobEstimate,
    terms: JobTerms,
    solve_timeout: int,
    record: SolverRecord,
    capability: Capability,
    policy: ClaimPolicy,
    now: int,
) -> Verdict:
    """Whether to claim the open job of ``spec`` (priced by ``terms``) at chain time ``now``."""
    unfit = _unfit(spec, estimate, solve_timeout, record, capability, policy, terms)
    if unfit is not None:
        return Verdict(False, unfit)
    flops = claim_flops(spec, estimate)
    pflop = flops / FLOPS_PER_PFLOP
    target = min_offer_wei(policy, flops)
    offer = offer_at(terms.floor, terms.cap, terms.ramp_start, terms.ramp, now)
    if offer >= target:
        return Verdict(True, f"fits; offer {price_per_pflop(offer, pflop):.6g} per PFLOP")
    when = time_to_offer(terms.floor, terms.cap, terms.ramp_start, terms.ramp, target)
    if when is None:
        return Verdict(
            False,
            f"cap {price_per_pflop(terms.cap, pflop):.6g} per PFLOP is below our minimum "
            f"{policy.min_price_per_pflop:.6g}",
        )
    return Verdict(
        False,
        f"offer below our minimum {policy.min_price_per_pflop:.6g} per PFLOP until t={when}",
        when,
    )


def _unfit(
    spec: JobSpec,
    estimate: JobEstimate,
    solve_timeout: int,
    record: SolverRecord,
    capability: Capability,
    policy: ClaimPolicy,
    terms: JobTerms,
) -> str | None:
    """Why this machine (or this solver's record) cannot take the job at any price, or None."""
    wanted = spec.requirements.device if spec.requirements is not None else "any"
    if wanted != "any" and wanted != capability.device:
        return f"needs a {wanted} device, this node trains on {capability.device}"
    needed = memory_needed(spec, estimate)
    if needed is None:
        return f"no memory estimate for runtime {spec.runtime}"
    if needed > capability.memory_bytes:
        return (
            f"needs {format_memory_size(needed)} of memory, this node has "
            f"{format_memory_size(capability.memory_bytes)}"
        )
    throughput = capability.flops_per_second.get(spec.runtime, 0.0)
    if not throughput > 0:
        return f"no measured throughput for runtime {spec.runtime}"
    seconds = claim_flops(spec, estimate) / throughput
    if seconds > policy.time_margin * solve_timeout:
        return (
            f"expected {seconds:.0f} s of training, more than {policy.time_margin:g} x the "
            f"{solve_timeout} s solve timeout"
        )
    if record.finalized < terms.min_finalized:
        return f"needs a record of {terms.min_finalized} finalized, ours is {record.finalized}"
    return None
