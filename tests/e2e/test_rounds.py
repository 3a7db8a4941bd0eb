"""Rounds jobs end to end on Anvil (issue 13, docs/ROUNDS.md): W = 3 slots, R = 2 rounds, q = 2.

Real solvers and verifiers (``World``) train, verify and dispute units exactly as single jobs; their
daemons close rounds and reclaim timed-out units. Each test ends with every party's exact balance
and the protocol's solvency, and a single process replays every finalized unit bit for bit from the
state 0 the chain implies (``expected_initial_state``).
"""

from __future__ import annotations

import pytest
from e2e_dispute_kit import FEE, REWARD, World
from eth_account.signers.local import LocalAccount
from market_kit import Market
from rounds_run_kit import (
    RoundsRun,
    check_books,
    pay_finalized_units,
    replay_every_unit,
    tiny_rounds_spec,
)

from node.chain.dispute_types import DisputeKind, DisputeOutcome
from node.chain.types import JobStatus
from node.storage import LocalBlobStore
from node.training.spec import JobSpec

pytestmark = [pytest.mark.chain, pytest.mark.slow]

W, R, Q = 3, 2, 2
LOCK = 2 * REWARD
JUROR_FEE = REWARD // 100
SOLVE_TIMEOUT = 120
ROUND_TIMEOUT = 1_800


def rounds_spec(world: World) -> JobSpec:
    return tiny_rounds_spec(world.store, workers=W, rounds=R, quorum=Q)


def post_rounds(world: World, spec: JobSpec) -> RoundsRun:
    submitter = world.market.as_(world.market.submitter)
    posted = submitter.post_rounds_job(
        spec_hash=spec.spec_hash(),
        workers=W,
        rounds=R,
        quorum=Q,
        inner_steps=spec.steps,
        checkpoint_every=spec.checkpoint_every,
        unit_reward=REWARD,
        unit_verifier_fee=FEE,
        solve_timeout=SOLVE_TIMEOUT,
        round_timeout=ROUND_TIMEOUT,
        sample_rate_bps=1_000,
    )
    return RoundsRun(world, spec, int(posted.rounds_id))


def new_world(market: Market, dev: list[LocalAccount]) -> World:
    world = World(market, LocalBlobStore(market.root / "blobs"))
    for k in range(4):
        world.add_verifier(f"v{k + 1}", dev[3 + k])
    return world


def settle(world: World) -> None:
    world.round()  # everyone withdraws
    world.round()


def test_a_cheater_in_round_one_is_slashed_excluded_and_its_slot_reclaimed(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    world = new_world(market, dev_accounts)
    p = world.p
    cheater = world.add_solver(dev_accounts[2], LOCK, "alter_step:2")
    honest = [world.add_solver(dev_accounts[k], LOCK) for k in (7, 8, 9)]
    for slot in (cheater, honest[0], honest[1]):  # the cheater looks first: it takes slot 0
        world.start_solver(slot)
    parties = {market.submitter.address} | {s.account.address for s in world.solvers}
    parties |= {a.address for a in world.accounts.values()}
    before = {a: world.wealth(a) for a in parties}
    run = post_rounds(world, rounds_spec(world))
    cheat_job = run.unit_job(0, 0)
    honest_jobs = [run.unit_job(0, 1), run.unit_job(0, 2)]

    def honest_done_and_cheater_convicted() -> bool:
        """Each honest solver is paused once its unit is final, so nobody reclaims slot 0 inside
        round 0: the round closes at its deadline without it."""
        for job_id in honest_jobs:
            job = p.market.get_job(job_id)
            if job.status is JobStatus.FINALIZED:
                next(s for s in honest if s.account.address == job.solver).solver = None
        return p.market.get_job(cheat_job).attempt == 1 and all(
            s.solver is None for s in honest[:2]
        )

    world.drive(
        honest_done_and_cheater_convicted,
        rounds=400,
        what="the forged unit convicted and the honest units final",
    )
    world.drive(lambda: run.round_closed(0), rounds=400, what="round 0 closed at its deadline")
    assert run.included(0) == [1, 2]
    assert p.market.get_job(cheat_job).status is JobStatus.CANCELLED

    for slot in honest:  # round 1: every slot, the cheater's included, solved honestly
        world.start_solver(slot)
    world.drive(lambda: run.status() == "FINISHED", rounds=400, what="the rounds job finished")
    settle(world)
    assert run.included(1) == [0, 1, 2]
    assert p.market.get_job(run.unit_job(1, 0)).solver in {s.account.address for s in honest}

    resolved = p.dispute_game.get_events("DisputeResolved")
    won = [e for e in resolved if e.outcome == DisputeOutcome.SOLVER_WRONG]  # type: ignore[attr-defined]
    assert len(won) == 1, resolved
    disputes = [p.dispute_game.get_dispute(e.dispute_id) for e in resolved]  # type: ignore[attr-defined]
    assert {d.job_id for d in disputes} == {cheat_job}
    d = p.dispute_game.get_dispute(won[0].dispute_id)  # type: ignore[attr-defined]
    assert (d.job_id, d.kind) == (cheat_job, DisputeKind.SEGMENT)
    jury_fees = won[0].jury_fees  # type: ignore[attr-defined]
    jurors = p.jury.jurors_of(d.dispute_id, 0) if jury_fees else []
    assert jury_fees == JUROR_FEE * len(jurors)
    after_fees = LOCK - jury_fees
    fee = p.dispute_game.challenge_fee_of(cheat_job)
    submitter = market.submitter.address
    expected = dict.fromkeys(parties, 0)
    expected[submitter] = -W * R * (REWARD + FEE) + (REWARD + FEE)  # the cancelled unit's escrow
    expected[submitter] += after_fees * 2_500 // 10_000
    expected[cheater.account.address] = -LOCK
    expected[won[0].winner] += won[0].winner_paid - fee  # type: ignore[attr-defined]
    for e in p.dispute_game.get_events("JackpotShared"):
        expected[e.challenger] += e.share - fee  # type: ignore[attr-defined]
    for juror in jurors:
        expected[juror] += JUROR_FEE
    pay_finalized_units(world, run, expected)
    check_books(world, before, expected)
    replay_every_unit(world, run)


def test_a_wrong_outer_step_is_caught_by_the_initial_state_challenge(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    world = new_world(market, dev_accounts)
    p = world.p
    honest = [world.add_solver(dev_accounts[k], LOCK) for k in (7, 8, 9)]
    cheater = world.add_solver(dev_accounts[2], LOCK, "wrong_initial_state")
    for slot in honest:
        world.start_solver(slot)
    parties = {market.submitter.address} | {s.account.address for s in world.solvers}
    parties |= {a.address for a in world.accounts.values()}
    before = {a: world.wealth(a) for a in parties}
    run = post_rounds(world, rounds_spec(world))
    world.drive(lambda: run.round_closed(0), rounds=400, what="round 0 closed")
    assert run.included(0) == [0, 1, 2]

    world.solvers.remove(cheater)  # the cheater looks first in round 1: it takes slot 0
    world.solvers.insert(0, cheater)
    world.start_solver(cheater)
    forged = run.unit_job(1, 0)
    world.drive(
        lambda: p.market.get_job(forged).solver == dev_accounts[2].address,
        what="the cheater claimed unit (1, 0)",
    )
    world.drive(lambda: run.status() == "FINISHED", rounds=400, what="the rounds job finished")
    settle(world)
    assert run.included(1) == [0, 1, 2]
    assert p.market.get_job(forged).attempt == 1  # convicted, reopened, solved honestly

    resolved = p.dispute_game.get_events("DisputeResolved")
    disputes = [p.dispute_game.get_dispute(e.dispute_id) for e in resolved]  # type: ignore[attr-defined]
    assert {d.job_id for d in disputes} == {forged}  # every challenge of segment 0: one wins
    won = next(e for e in resolved if e.outcome == DisputeOutcome.SOLVER_WRONG)  # type: ignore[attr-defined]
    assert sum(e.outcome == DisputeOutcome.SOLVER_WRONG for e in resolved) == 1  # type: ignore[attr-defined]
    assert won.outcome == DisputeOutcome.SOLVER_WRONG  # type: ignore[attr-defined]
    d = p.dispute_game.get_dispute(won.dispute_id)  # type: ignore[attr-defined]
    assert (d.job_id, d.kind) == (forged, DisputeKind.INITIAL_STATE)
    jury_fees = won.jury_fees  # type: ignore[attr-defined]
    jurors = p.jury.jurors_of(d.dispute_id, 0) if jury_fees else []
    after_fees = LOCK - jury_fees
    fee = p.dispute_game.challenge_fee_of(forged)
    submitter = market.submitter.address
    expected = dict.fromkeys(parties, 0)
    expected[submitter] = -W * R * (REWARD + FEE) + after_fees * 2_500 // 10_000
    expected[cheater.account.address] = -LOCK
    expected[won.winner] += won.winner_paid - fee  # type: ignore[attr-defined]
    for e in p.dispute_game.get_events("JackpotShared"):
        expected[e.challenger] += e.share - fee  # type: ignore[attr-defined]
    for juror in jurors:
        expected[juror] += JUROR_FEE
    pay_finalized_units(world, run, expected)
    check_books(world, before, expected)
    replay_every_unit(world, run)


def test_a_solver_that_vanishes_mid_round_loses_a_tenth_and_the_job_still_finishes(
    market: Market, dev_accounts: list[LocalAccount]
) -> None:
    world = new_world(market, dev_accounts)
    p = world.p
    vanisher = world.add_solver(dev_accounts[2], LOCK)
    honest = [world.add_solver(dev_accounts[k], LOCK) for k in (7, 8, 9)]
    parties = {market.submitter.address} | {s.account.address for s in world.solvers}
    parties |= {a.address for a in world.accounts.values()}
    before = {a: world.wealth(a) for a in parties}
    run = post_rounds(world, rounds_spec(world))
    world.start_solver(vanisher)
    assert vanisher.solver is not None and vanisher.solver.tick()  # claims unit (0, 0) ...
    gone = run.unit_job(0, 0)
    assert p.market.get_job(gone).solver == dev_accounts[2].address
    vanisher.solver = None  # ... and is never heard of again
    for slot in honest:
        world.start_solver(slot)
    world.drive(lambda: run.status() == "FINISHED", rounds=600, what="the rounds job finished")
    settle(world)
    timed_out = p.market.get_events("JobSolveTimedOut", filters={"jobId": gone})
    assert len(timed_out) == 1
    burned = timed_out[0].burned  # type: ignore[attr-defined]
    assert burned == LOCK // 10

    submitter = market.submitter.address
    expected = dict.fromkeys(parties, 0)
    expected[submitter] = -W * R * (REWARD + FEE)
    expected[vanisher.account.address] = -burned
    for job_id in run.units():  # a unit never finished (left out at a close) refunds the submitter
        if p.market.get_job(job_id).status is JobStatus.CANCELLED:
            expected[submitter] += REWARD + FEE
    pay_finalized_units(world, run, expected)
    check_books(world, before, expected)
    replay_every_unit(world, run)
