"""The solver's claim policy (``node.solver.policy.judge``), branch by branch, with plain values:
device, memory (estimate or stated minimum), expected time against the solve timeout, track
record, and the price per PFLOP on an ascending auction (claim, wait until the offer crosses,
never when the cap is below)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.chain.pricing import offer_at, time_to_offer
from node.chain.types import JobTerms, SolverRecord, Wei
from node.solver.capability import Capability
from node.solver.policy import ClaimPolicy, Verdict, claim_flops, judge, min_offer_wei
from node.training.estimate import JobEstimate
from node.training.spec import JobSpec, parse_spec

CROWD = 10**18
GIB = 1 << 30
BASE: dict[str, Any] = {
    "model": {"architecture": "mlp", "hidden": [16]},
    "dataset": {"address": "sha256:" + "ab" * 32, "format": "classification"},
    "optimizer": {"name": "adamw", "lr": 0.001},
    "batch_size": 8,
    "steps": 20,
    "checkpoint_every": 5,
}
SPEC = parse_spec(BASE)
ESTIMATE = JobEstimate(
    params=1_000,
    matmul_flops_per_step=9 * 10**11,
    flops_per_step=10**12,  # 20 steps: 2e13 FLOPs = 0.02 PFLOP per claim
    flops_total=20 * 10**12,
    peak_memory_bytes={"repro-v1": GIB, "native": GIB // 2},
    checkpoint_bytes=10_000,
    segments=4,
    verifier_flops=5 * 10**12,
)
CPU = Capability("cpu", 2 * GIB, {"repro-v1": 1e11, "native": 1e12})  # 200 s for the job
TERMS = JobTerms(floor=Wei(CROWD), cap=Wei(3 * CROWD), ramp_start=1_000, ramp=100, min_finalized=0)
NEWCOMER = SolverRecord(finalized=0, value=Wei(0), frauds=0, timeouts=0)


def _judge(
    *,
    spec: JobSpec = SPEC,
    estimate: JobEstimate = ESTIMATE,
    terms: JobTerms = TERMS,
    solve_timeout: int = 3_600,
    record: SolverRecord = NEWCOMER,
    capability: Capability = CPU,
    policy: ClaimPolicy = ClaimPolicy(),
    now: int = 1_000,
) -> Verdict:
    return judge(
        spec=spec,
        estimate=estimate,
        terms=terms,
        solve_timeout=solve_timeout,
        record=record,
        capability=capability,
        policy=policy,
        now=now,
    )


def _spec(**requirements: object) -> JobSpec:
    return parse_spec({**BASE, "requirements": requirements})


def test_a_job_that_fits_at_any_price_is_claimed() -> None:
    verdict = _judge()
    assert verdict.claim and verdict.wait_until is None
    assert verdict.reason == "fits; offer 50 per PFLOP"  # 1 CROWD floor / 0.02 PFLOP


@pytest.mark.parametrize(
    ("spec", "capability", "reason"),
    [
        (_spec(device="cuda"), CPU, "needs a cuda device, this node trains on cpu"),
        (_spec(device="cpu"), replace(CPU, device="cuda"), "needs a cpu device, this node trains on cuda"),
        (SPEC, replace(CPU, memory_bytes=GIB - 1), "needs 1.0 GiB of memory, this node has 1024.0 MiB"),
        (_spec(min_memory_bytes=3 * GIB), CPU, "needs 3.0 GiB of memory, this node has 2.0 GiB"),
        (SPEC, replace(CPU, flops_per_second={"native": 1e12}), "no measured throughput for runtime repro-v1"),
        (SPEC, replace(CPU, flops_per_second={"repro-v1": 0.0}), "no measured throughput for runtime repro-v1"),
        (SPEC, replace(CPU, flops_per_second={"repro-v1": 1e10}), "expected 2000 s of training, more than 0.5 x the 3600 s solve timeout"),
    ],
    ids=["cuda-job-cpu-node", "cpu-job-cuda-node", "memory", "stated-memory", "no-rate", "zero-rate", "too-slow"],
)  # fmt: skip
def test_a_job_the_machine_cannot_run_is_left_for_good(
    spec: JobSpec, capability: Capability, reason: str
) -> None:
    assert _judge(spec=spec, capability=capability) == Verdict(False, reason, None)


@pytest.mark.parametrize(
    ("spec", "capability"),
    [
        (_spec(device="any"), replace(CPU, device="cuda")),
        (_spec(device="cuda"), replace(CPU, device="cuda")),
        (_spec(device="cpu"), CPU),
        (SPEC, replace(CPU, memory_bytes=GIB)),  # exactly the estimate's peak
        (_spec(min_memory_bytes=GIB // 4), replace(CPU, memory_bytes=GIB)),  # estimate governs
        (_spec(min_memory_bytes=2 * GIB), CPU),  # exactly the stated minimum
    ],
)
def test_boundaries_that_still_fit(spec: JobSpec, capability: Capability) -> None:
    assert _judge(spec=spec, capability=capability).claim


def test_a_stated_minimum_below_the_estimate_does_not_lower_the_bar() -> None:
    verdict = _judge(spec=_spec(min_memory_bytes=1), capability=replace(CPU, memory_bytes=GIB - 1))
    assert not verdict.claim and verdict.reason.startswith("needs 1.0 GiB of memory")


def test_memory_is_the_estimate_of_the_jobs_runtime() -> None:
    native = parse_spec({**BASE, "runtime": "native"})
    half = replace(CPU, memory_bytes=GIB // 2)
    assert _judge(spec=native, capability=half).claim  # native's peak is half repro-v1's
    assert not _judge(spec=SPEC, capability=half).claim
    missing = replace(ESTIMATE, peak_memory_bytes={"native": 1})
    assert _judge(estimate=missing) == Verdict(False, "no memory estimate for runtime repro-v1")


def test_expected_time_against_the_margin_of_the_solve_timeout() -> None:
    # 200 s expected: fits 0.5 x 400 s exactly, not 0.5 x 399 s; a wider margin takes it
    assert _judge(solve_timeout=400).claim
    assert not _judge(solve_timeout=399).claim
    assert _judge(solve_timeout=399, policy=ClaimPolicy(time_margin=0.6)).claim
    assert not _judge(solve_timeout=250, policy=ClaimPolicy(time_margin=0.75)).claim


def test_a_job_wanting_a_longer_record_is_left_until_the_record_grows() -> None:
    terms = replace(TERMS, min_finalized=3)
    two = replace(NEWCOMER, finalized=2, value=Wei(10 * CROWD))
    assert _judge(terms=terms, record=two) == Verdict(
        False, "needs a record of 3 finalized, ours is 2"
    )
    assert _judge(terms=terms, record=replace(two, finalized=3)).claim


def test_unfit_comes_before_price() -> None:
    """A job the machine cannot run is never waited for, whatever its price."""
    verdict = _judge(
        spec=_spec(device="cuda"), policy=ClaimPolicy(min_price_per_pflop=100.0), now=900
    )
    assert verdict.wait_until is None and "cuda" in verdict.reason


def test_price_below_our_minimum_waits_until_the_offer_crosses_it() -> None:
    policy = ClaimPolicy(min_price_per_pflop=100.0)  # 2 CROWD for 0.02 PFLOP: halfway up the ramp
    assert min_offer_wei(policy, claim_flops(SPEC, ESTIMATE)) == 2 * CROWD
    early = _judge(policy=policy, now=1_010)
    assert early == Verdict(False, "offer below our minimum 100 per PFLOP until t=1050", 1_050)
    assert _judge(policy=policy, now=1_049) == early  # the reason does not change with the clock
    at = _judge(policy=policy, now=1_050)
    assert at.claim and at.reason == "fits; offer 100 per PFLOP"
    assert offer_at(CROWD, 3 * CROWD, 1_000, 100, 1_050) == 2 * CROWD


def test_a_cap_below_our_minimum_is_never_waited_for() -> None:
    verdict = _judge(policy=ClaimPolicy(min_price_per_pflop=150.01))  # cap: 150 per PFLOP
    assert verdict == Verdict(False, "cap 150 per PFLOP is below our minimum 150.01", None)
    assert _judge(policy=ClaimPolicy(min_price_per_pflop=150.0), now=1_100).claim


def test_a_fixed_price_job_is_claimed_or_left_at_once() -> None:
    fixed = replace(TERMS, floor=Wei(3 * CROWD), ramp=0)
    assert _judge(terms=fixed, policy=ClaimPolicy(min_price_per_pflop=150.0), now=0).claim
    left = _judge(terms=fixed, policy=ClaimPolicy(min_price_per_pflop=151.0), now=0)
    assert not left.claim and left.wait_until is None


def test_a_rounds_unit_is_priced_by_its_own_steps_not_the_whole_job() -> None:
    rounds = parse_spec({**BASE, "rounds": {"workers": 4, "rounds": 5, "quorum": 2}})
    whole = replace(ESTIMATE, flops_total=20 * 20 * 10**12)  # 4 workers x 5 rounds x 20 steps
    assert claim_flops(rounds, whole) == 20 * 10**12
    verdict = _judge(spec=rounds, estimate=whole)
    assert verdict.claim and verdict.reason == "fits; offer 50 per PFLOP"


def test_the_minimum_offer_is_exact_and_rounded_up() -> None:
    policy = ClaimPolicy(min_price_per_pflop=0.1)
    # 0.1 is not exact in binary: the exact product of the float and 3 PFLOP, rounded up
    assert min_offer_wei(policy, 3 * 10**15) == 300_000_000_000_000_017
    assert min_offer_wei(ClaimPolicy(), 10**30) == 0
    assert min_offer_wei(ClaimPolicy(min_price_per_pflop=1.0), 1) == 1_000  # 1e-15 PFLOP
    assert min_offer_wei(ClaimPolicy(min_price_per_pflop=2.0), 10**15) == 2 * CROWD


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_price_per_pflop": -1.0}, "min price per PFLOP must be a finite number >= 0"),
        ({"min_price_per_pflop": float("nan")}, "min price per PFLOP must be a finite number"),
        ({"min_price_per_pflop": float("inf")}, "min price per PFLOP must be a finite number"),
        ({"time_margin": 0.0}, r"time margin must be in \(0, 1\]"),
        ({"time_margin": 1.5}, r"time margin must be in \(0, 1\]"),
    ],
)
def test_a_bad_policy_is_refused(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClaimPolicy(**changes)


@given(
    floor=st.integers(0, 10**21),
    extra=st.integers(0, 10**21),
    ramp=st.integers(0, 10**6),
    start=st.integers(0, 10**9),
    price=st.floats(0.0, 10**5, allow_nan=False),
    elapsed=st.integers(0, 2 * 10**6),
)
def test_the_wait_ends_exactly_when_the_offer_crosses(
    floor: int, extra: int, ramp: int, start: int, price: float, elapsed: int
) -> None:
    """Whatever the terms: a claim means the offer is worth our price; a wait names the first
    second it is (no earlier second is), and judging then claims; a refusal means the cap is not."""
    terms = JobTerms(Wei(floor), Wei(floor + extra), start, ramp, 0)
    policy = ClaimPolicy(min_price_per_pflop=price)
    target = min_offer_wei(policy, claim_flops(SPEC, ESTIMATE))
    now = start + elapsed
    verdict = _judge(terms=terms, policy=policy, now=now)
    offer = offer_at(floor, floor + extra, start, ramp, now)
    if verdict.claim:
        assert offer >= target
    elif verdict.wait_until is None:
        assert floor + extra < target
    else:
        when = verdict.wait_until
        assert when > now and when == time_to_offer(floor, floor + extra, start, ramp, target)
        assert offer_at(floor, floor + extra, start, ramp, when - 1) < target
        assert _judge(terms=terms, policy=policy, now=when).claim
