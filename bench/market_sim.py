"""The market bench's block loop: every online, idle solver judges every open job at each block.

The decision is the daemon's own (``node.solver.policy.judge``) and the price the contract's
function (``node.chain.pricing.offer_at``): the loop only supplies the clock, who is up and idle,
and the order in which the block's claim transactions land (a seeded shuffle per block; the first
claim of a job wins it, at the offer of that block's timestamp). Where the jobs live is a
``Venue``: the simulation's own ledger (``LedgerVenue``) or a fresh Anvil
(``bench.market_chain.ChainVenue``), so the two runs of one scenario can be compared claim by claim.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bench.market_scenario import BLOCK_TIME_S, MarketJob, MarketSolver
from node.chain.types import JobTerms, SolverRecord, Wei
from node.solver.policy import Verdict, judge


class Venue(Protocol):
    """Where jobs are posted and claimed (declared here, where the loop uses it)."""

    def post(self, job: MarketJob, now: int) -> JobTerms: ...
    def record_of(self, solver: MarketSolver) -> SolverRecord: ...
    def claim(self, job: MarketJob, solver: MarketSolver, now: int) -> int: ...
    def finish(self, job: MarketJob, solver: MarketSolver, price: int) -> None: ...


Decide = Callable[[MarketJob, JobTerms, MarketSolver, SolverRecord, int], Verdict]
"""``solver``'s verdict (with ``record``) on ``job`` (posted with ``terms``) at time ``now``."""


def judge_decides(
    job: MarketJob, terms: JobTerms, solver: MarketSolver, record: SolverRecord, now: int
) -> Verdict:
    """The daemon's decision (``node.solver.policy.judge``) with the solver's own policy."""
    return judge(
        spec=job.spec,
        estimate=job.estimate,
        terms=terms,
        solve_timeout=job.solve_timeout,
        record=record,
        capability=solver.capability,
        policy=solver.policy,
        now=now,
    )


def claims_anything(
    job: MarketJob, terms: JobTerms, solver: MarketSolver, record: SolverRecord, now: int
) -> Verdict:
    """Today's daemon: any open job its free stake covers (the baseline; stake is not modelled)."""
    return Verdict(claim=True, reason="open")


@dataclass(frozen=True)
class Claim:
    """A job won: by whom, at which block, after how many blocks, at what price (wei)."""

    job_id: int
    solver: str
    block: int
    blocks_waited: int
    price: int
    fits: bool
    """The bench's ground truth (``MarketJob.fits``) for this solver at the claim."""
    reference_cost: float | None
    """Tokens: the cost of the cheapest solver that fits the job and was online and idle at the
    claim's block (the winner among them): what the job would have cost at that moment in a
    market where every machine's cost were known."""


@dataclass
class LedgerVenue:
    """The simulation's own ledger: terms as posted, prices from ``offer_at``, records credited
    when a claimed job's run ends (as ``finalizeJob`` would)."""

    ramp_starts: dict[int, int] = field(default_factory=dict)
    records: dict[str, SolverRecord] = field(default_factory=dict)

    def post(self, job: MarketJob, now: int) -> JobTerms:
        self.ramp_starts[job.job_id] = now
        return job.terms(now)

    def record_of(self, solver: MarketSolver) -> SolverRecord:
        return self.records.get(
            solver.name, SolverRecord(finalized=0, value=Wei(0), frauds=0, timeouts=0)
        )

    def claim(self, job: MarketJob, solver: MarketSolver, now: int) -> int:
        return job.offer(self.ramp_starts[job.job_id], now)

    def finish(self, job: MarketJob, solver: MarketSolver, price: int) -> None:
        old = self.record_of(solver)
        self.records[solver.name] = SolverRecord(
            finalized=old.finalized + 1,
            value=Wei(old.value + price),
            frauds=old.frauds,
            timeouts=old.timeouts,
        )


def _cheapest_fit(
    job: MarketJob, idle: Sequence[MarketSolver], records: dict[str, SolverRecord]
) -> float | None:
    """The cost (tokens) of the cheapest of the block's idle solvers that fits ``job``."""
    costs = [s.cost_per_pflop * job.estimate.pflop for s in idle if job.fits(s, records[s.name])]
    return min(costs) if costs else None


def _block_at(time: int, start_time: int) -> int:
    """The first block whose timestamp is at or after ``time``."""
    return -(-(time - start_time) // BLOCK_TIME_S)


def run_market(
    jobs: Sequence[MarketJob],
    solvers: Sequence[MarketSolver],
    venue: Venue,
    *,
    seed: int,
    start_time: int,
    decide: Decide = judge_decides,
) -> list[Claim]:
    """Run the market until no claim can come any more; the claims in order.

    Between events the loop jumps straight to the next block where a verdict can change: a job
    posted, a run ended (the solver is idle and its record credited), or the earliest
    ``wait_until`` a verdict named (the block where the offer crosses that solver's floor). A
    daemon polling every block would claim at that same block: before it, each verdict is no.
    """
    online = [s for s in solvers if s.online]
    to_post = sorted(jobs, key=lambda j: (j.posted_block, j.job_id))
    open_jobs: dict[int, tuple[MarketJob, JobTerms]] = {}
    busy_until: dict[str, tuple[int, MarketJob, int]] = {}
    claims: list[Claim] = []
    block = to_post[0].posted_block if to_post else 0
    while True:
        now = start_time + block * BLOCK_TIME_S
        for name, (until, job, price) in sorted(busy_until.items()):
            if until <= now:
                del busy_until[name]
                venue.finish(job, next(s for s in online if s.name == name), price)
        idle = [s for s in online if s.name not in busy_until]
        while to_post and to_post[0].posted_block == block:
            job = to_post.pop(0)
            open_jobs[job.job_id] = (job, venue.post(job, now))
        records = {s.name: venue.record_of(s) for s in idle}
        wakes: list[int] = []
        for solver in random.Random(f"{seed}:{block}").sample(idle, len(idle)):
            record = records[solver.name]
            for job_id in sorted(open_jobs):
                job, terms = open_jobs[job_id]
                verdict = decide(job, terms, solver, record, now)
                if not verdict.claim:
                    if verdict.wait_until is not None:
                        wakes.append(_block_at(verdict.wait_until, start_time))
                    continue
                price = venue.claim(job, solver, now)
                claims.append(
                    Claim(
                        job_id=job_id,
                        solver=solver.name,
                        block=block,
                        blocks_waited=block - job.posted_block,
                        price=price,
                        fits=job.fits(solver, record),
                        reference_cost=_cheapest_fit(job, idle, records),
                    )
                )
                seconds = min(solver.seconds_for(job.estimate, job.spec.runtime), job.solve_timeout)
                busy_until[solver.name] = (now + max(1, int(seconds)), job, price)
                del open_jobs[job_id]
                break
        events = wakes + [_block_at(until, start_time) for until, _, _ in busy_until.values()]
        if to_post:
            events.append(to_post[0].posted_block)
        if not open_jobs and not to_post:
            return claims
        if not events:  # every open job is unfit for every solver that will ever be idle
            return claims
        block = max(block + 1, min(events))
