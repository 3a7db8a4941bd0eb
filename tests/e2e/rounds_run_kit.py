"""Reading and settling a rounds job on Anvil, shared by the rounds end-to-end tests: the unit grid
as the chain shows it, every party's exact payout for the finalized units, the books, and a replay
of every finalized unit bit for bit from the state 0 the chain implies."""

from __future__ import annotations

import json
from dataclasses import dataclass

from e2e_dispute_kit import FEE, REWARD, World, tiny_spec

from node.chain.rounds_market import RoundsMarketAdapter
from node.chain.types import JobStatus
from node.rounds import expected_initial_state, job_session
from node.storage import BlobStore
from node.trace.state import state_hash
from node.training.data import load_dataset
from node.training.spec import JobSpec, parse_spec


def tiny_rounds_spec(store: BlobStore, *, workers: int, rounds: int, quorum: int) -> JobSpec:
    """The 2-segment MLP unit (H = 8, K = 4) of ``tiny_spec`` as a rounds job, stored with its
    data: units train and replay in a fraction of a second."""
    raw = json.loads(tiny_spec(store).canonical_json())
    raw.update(steps=8, rounds={"workers": workers, "rounds": rounds, "quorum": quorum})
    spec = parse_spec(raw)
    store.put(spec.canonical_json())
    return spec


@dataclass
class RoundsRun:
    world: World
    spec: JobSpec
    rounds_id: int

    @property
    def rm(self) -> RoundsMarketAdapter:
        return self.world.p.rounds_market

    def unit_job(self, round_: int, slot: int) -> int:
        return int(self.rm.unit_job(self.rounds_id, round_, slot) or 0)

    def included(self, round_: int) -> list[int]:
        return sorted(self.rm.included_slots(self.rounds_id, round_))

    def status(self) -> str:
        return str(self.rm.get_rounds_job(self.rounds_id).status.name)

    def round_closed(self, round_: int) -> bool:
        return bool(self.included(round_))

    def units(self) -> list[int]:
        job = self.rm.get_rounds_job(self.rounds_id)
        return [
            j
            for r in range(job.rounds)
            for w in range(job.workers)
            if (j := self.unit_job(r, w)) != 0
        ]


def attestation_fees(world: World, job_id: int, attempt: int) -> dict[str, int]:
    accounts, valid, total = world.p.attestations.payouts_of(job_id, attempt)
    return {a: FEE // total * v for a, v in zip(accounts, valid, strict=True)}


def pay_finalized_units(world: World, run: RoundsRun, expected: dict[str, int]) -> None:
    """Each finalized unit (posted at ``REWARD`` + ``FEE``): its solver's reward, its attesters'
    fees, the leftover to the submitter."""
    p = world.p
    for job_id in run.units():
        job = p.market.get_job(job_id)
        if job.status is not JobStatus.FINALIZED:
            continue
        expected[job.solver] = expected.get(job.solver, 0) + REWARD
        fees = attestation_fees(world, job_id, job.attempt)
        for account, amount in fees.items():
            expected[account] = expected.get(account, 0) + amount
        expected[world.market.submitter.address] += FEE - sum(fees.values())


def replay_every_unit(world: World, run: RoundsRun) -> None:
    """One process recomputes each finalized unit from the state 0 the chain implies: the committed
    checkpoint 0 and finalStateHash come out bit for bit."""
    p = world.p
    for job_id in run.units():
        job = p.market.get_job(job_id)
        if job.status is not JobStatus.FINALIZED:
            continue
        session, ref = job_session(
            p, world.store, run.spec, job_id, load_dataset(run.spec, world.store)
        )
        state = expected_initial_state(p, world.store, session, ref)
        committed = p.market.get_commitment(job_id)
        assert committed is not None
        first = state_hash(state)
        for _ in range(run.spec.steps):
            state = session.step(state)
        assert state_hash(state) == committed.final_state_hash, (job_id, ref, first.hex())


def check_books(world: World, before: dict[str, int], expected: dict[str, int]) -> None:
    for account, amount in before.items():
        assert world.wealth(account) - amount == expected.get(account, 0), account
    assert all(world.p.registry.stake_of(a).locked == 0 for a in before)
    world.solvency()
    assert world.p.token.balance_of(world.p.rounds_market.address) == 0  # holds no tokens
