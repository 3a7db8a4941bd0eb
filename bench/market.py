"""``crowdtrain bench market``: does the auction find the price, and do jobs go only to machines
that can run them?

A seeded simulation (``bench.market_scenario``: heterogeneous solvers, a stream of scaled example
jobs) runs block by block through the daemon's decision code and the contract's price function
(``bench.market_sim``). Keys:

* ``price_efficiency``: mean over claimed jobs of price paid / the cost of the cheapest solver
  that could run the job and was online and idle at the claim's block (target ≤ 1.25).
* ``unfit_claims``: claims by a solver that cannot run the job by the bench's own check of device,
  memory, time and record (``MarketJob.fits``; target 0).
* ``median_blocks_to_claim``: blocks from posting to the winning claim.
* ``estimate_flops_error`` / ``estimate_memory_error``: the estimate against measurement
  (``bench.market_estimate``).
* ``chain_agrees``: a short scenario gives the same claims and prices on Anvil as simulated
  (``bench.market_chain``).

``baseline`` runs the same world as today's market: a fixed price (the cap), no record bar, and a
daemon that claims any open job.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Any

from bench.market_scenario import BLOCK_TIME_S, TOKEN, Scenario, make_scenario
from bench.market_sim import Claim, LedgerVenue, claims_anything, run_market

TARGETS = {
    "price_efficiency": 1.25,
    "unfit_claims": 0,
    "estimate_flops_error": 0.10,
    "estimate_memory_error": 0.25,
}
START_TIME = 1_800_000_000


def _utilization(scenario: Scenario, claims: list[Claim]) -> dict[str, float]:
    """Busy seconds over online seconds per machine class (``cuda-80GiB``…), from the first
    posting to the last run's end: where the market is congested, prices run up the ramp."""
    solvers = {s.name: s for s in scenario.solvers}
    busy: dict[str, float] = {}
    end = 0.0
    for claim in claims:
        job, solver = scenario.jobs[claim.job_id], solvers[claim.solver]
        seconds = min(solver.seconds_for(job.estimate, job.spec.runtime), job.solve_timeout)
        busy[solver.machine] = busy.get(solver.machine, 0.0) + seconds
        end = max(end, claim.block * BLOCK_TIME_S + seconds)
    span = end - scenario.jobs[0].posted_block * BLOCK_TIME_S
    online: dict[str, int] = {}
    for solver in scenario.solvers:
        if solver.online:
            online[solver.machine] = online.get(solver.machine, 0) + 1
    return {
        machine: round(busy.get(machine, 0.0) / (count * span), 4) if span > 0 else 0.0
        for machine, count in sorted(online.items())
    }


def _figures(scenario: Scenario, claims: list[Claim]) -> dict[str, Any]:
    ratios = [c.price / TOKEN / c.reference_cost for c in claims if c.reference_cost]
    jobs = len(scenario.jobs)
    return {
        "price_efficiency": round(statistics.fmean(ratios), 4) if ratios else None,
        "unfit_claims": sum(not c.fits for c in claims),
        "median_blocks_to_claim": statistics.median(c.blocks_waited for c in claims)
        if claims
        else None,
        "claimed": len(claims),
        "unclaimed": jobs - len(claims),
        "utilization": _utilization(scenario, claims),
    }


def simulate(scenario: Scenario) -> dict[str, Any]:
    """The auction market and today's fixed-price one over the same scenario."""
    claims = run_market(
        scenario.jobs, scenario.solvers, LedgerVenue(), seed=scenario.seed, start_time=START_TIME
    )
    fixed = tuple(replace(job, floor=job.cap, ramp=0, min_finalized=0) for job in scenario.jobs)
    today = run_market(
        fixed,
        scenario.solvers,
        LedgerVenue(),
        seed=scenario.seed,
        start_time=START_TIME,
        decide=claims_anything,
    )
    ours = _figures(scenario, claims)
    baseline = _figures(scenario, today)
    del baseline["median_blocks_to_claim"]
    return {**ours, "baseline": baseline}


def run_market_bench(
    *,
    seed: int = 0,
    chain: bool = True,
    estimate: bool = True,
    jobs: int = 120,
    gap_blocks: int = 150,
    device: str = "cpu",
) -> dict[str, Any]:
    """The five keys (plus ``chain_agrees`` with the chain part), their targets and the setup."""
    scenario = make_scenario(seed, jobs=jobs, every_blocks=gap_blocks)
    report: dict[str, Any] = simulate(scenario)
    if estimate:
        from bench.market_estimate import estimate_errors

        report.update(estimate_errors(device))
    if chain:
        from bench.market_chain import chain_scenario, run_chain_check

        report.update(run_chain_check(chain_scenario(seed)))
    report["targets"] = TARGETS
    report["within_targets"] = {
        key: report[key] is not None and report[key] <= bound
        for key, bound in TARGETS.items()
        if key in report
    }
    report["config"] = {
        "seed": seed,
        "jobs": len(scenario.jobs),
        "solvers": len(scenario.solvers),
        "online": sum(s.online for s in scenario.solvers),
        "block_time_s": BLOCK_TIME_S,
        "gap_blocks": gap_blocks,
    }
    return report
