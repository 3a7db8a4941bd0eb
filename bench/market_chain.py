"""The market bench's chain part: a short scenario run on a fresh Anvil and in the simulation.

The same jobs (auction terms, ramps) and solvers go through ``bench.market_sim.run_market`` twice:
once against the simulation's ledger, once against the deployed ``JobMarket``, where each job is
posted and each claim sent as a real transaction in a block stamped with the simulated block's
time (``evm_setNextBlockTimestamp``). On the chain the decisions read the job's terms and the
solver's record from the contract (``terms_of``, ``record_of``), and the price is the one the
contract fixed (``JobClaimed.price``). ``chain_agrees`` is true when both runs give the same
claims: same job, same solver, same block, same price to the wei.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from eth_account.signers.local import LocalAccount

from bench.market_scenario import MarketJob, MarketSolver, Scenario, make_jobs, make_solvers
from bench.market_sim import Claim, LedgerVenue, run_market
from node.chain.anvil import start_anvil
from node.chain.client import chain_time, connect, rpc
from node.chain.deploy import DeploymentParams, deploy_protocol
from node.chain.devnet import dev_account
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.types import JobTerms, SolverRecord
from node.chain.units import CROWD

FUNDS = 10_000_000 * CROWD
STAKE = 1_000_000 * CROWD
VERIFIER_FEE = CROWD


@dataclass
class ChainVenue:
    """``JobMarket`` on Anvil: the submitter posts, each solver claims from its own account."""

    submitter: Protocol
    solvers: dict[str, Protocol]
    chain_ids: dict[int, int] = field(default_factory=dict)
    """Scenario job id -> on-chain job id."""

    def _at(self, now: int) -> None:
        rpc(self.submitter.w3, "evm_setNextBlockTimestamp", now)

    def post(self, job: MarketJob, now: int) -> JobTerms:
        self._at(now)
        posted = self.submitter.market.post_job(
            spec_hash=job.spec.spec_hash(),
            steps=job.spec.steps,
            checkpoint_every=job.spec.checkpoint_every,
            reward=job.cap,
            verifier_fee=VERIFIER_FEE,
            solve_timeout=job.solve_timeout,
            sample_rate_bps=int(job.spec.sample_rate * 10_000),
            floor=job.floor,
            ramp=job.ramp,
            min_finalized=job.min_finalized,
        )
        self.chain_ids[job.job_id] = posted.job_id
        return self.submitter.market.terms_of(posted.job_id)

    def record_of(self, solver: MarketSolver) -> SolverRecord:
        return self.submitter.market.record_of(self.solvers[solver.name].address)

    def claim(self, job: MarketJob, solver: MarketSolver, now: int) -> int:
        self._at(now)
        claimed = self.solvers[solver.name].market.claim_job(self.chain_ids[job.job_id])
        return int(claimed.price)

    def finish(self, job: MarketJob, solver: MarketSolver, price: int) -> None:
        """No run is carried out (nor finalized) on the chain, so records stay at zero here while
        the ledger credits them: the chain scenario has no record bar, so no verdict reads them."""


def _chain_venue(owner: Protocol, solvers: tuple[MarketSolver, ...]) -> ChainVenue:
    submitter = owner.as_account(dev_account(1))
    owner.token.mint(submitter.address, FUNDS)
    submitter.token.approve(submitter.market.address, 2**256 - 1)
    accounts: dict[str, Protocol] = {}
    for index, solver in enumerate(solvers, start=2):
        account: LocalAccount = dev_account(index)
        party = owner.as_account(account)
        owner.token.mint(party.address, STAKE)
        party.stake(STAKE)
        accounts[solver.name] = party
    return ChainVenue(submitter, accounts)


def run_chain_check(scenario: Scenario) -> dict[str, Any]:
    """Run ``scenario`` (a few jobs, no record bar: ``chain_scenario``) on Anvil and in the
    simulation; the claims of both and whether they agree."""
    anvil = start_anvil()
    try:
        w3 = connect(anvil.rpc_url)
        decoder = project_decoder()
        deployer = dev_account(0)
        deployment = deploy_protocol(TxSender(w3, deployer, decoder), DeploymentParams())
        owner = Protocol.from_deployment(w3, deployment, deployer, decoder=decoder)
        venue = _chain_venue(owner, scenario.solvers)
        start = chain_time(w3) + 60
        on_chain = run_market(
            scenario.jobs, scenario.solvers, venue, seed=scenario.seed, start_time=start
        )
        simulated = run_market(
            scenario.jobs, scenario.solvers, LedgerVenue(), seed=scenario.seed, start_time=start
        )
        return {
            "chain_agrees": bool(on_chain) and on_chain == simulated,
            "chain": {
                "jobs": len(scenario.jobs),
                "start_time": start,
                "claims": [_row(c) for c in on_chain],
                "simulated_claims": [_row(c) for c in simulated]
                if on_chain != simulated
                else "same",
            },
        }
    finally:
        anvil.stop()


def _row(claim: Claim) -> dict[str, Any]:
    row = asdict(claim)
    row["price_tokens"] = round(claim.price / CROWD, 6)
    del row["reference_cost"]
    return row


def chain_scenario(seed: int) -> Scenario:
    """Four jobs of the simulation's kinds on four online solvers (one per machine class, so some
    jobs do not fit some of them), ramps of five to ten minutes, no record bar (the chain part runs
    no job to its end)."""
    rng = random.Random(f"chain:{seed}")
    solvers = tuple(replace(solver, online=True) for solver in make_solvers(rng, 4))
    jobs = tuple(
        replace(job, ramp=rng.randint(300, 600), min_finalized=0)
        for job in make_jobs(rng, 4, every_blocks=20)
    )
    return Scenario(seed, solvers, jobs)
