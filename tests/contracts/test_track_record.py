"""Per-solver track records and the minimum-record gate (docs/MARKET.md, "Track record"; issue 15
part 4): finalize, solve timeout and proven fraud each move one counter, and a job asking for a
record admits only claimers that have it."""

from __future__ import annotations

import pytest
from protocol_kit import CHALLENGE_WINDOW, ETHER, MIN_SOLVER_STAKE, REVEAL_PHASE
from protocol_world import Trace, World, claimed_job, committed_job
from rounds_kit import post_rounds, units

pytestmark = pytest.mark.chain


def record(world: World, solver: str) -> tuple[int, int, int, int]:
    """(finalized, value, frauds, timeouts)."""
    return tuple(world.market.functions.recordOf(solver).call())  # type: ignore[return-value]


def finalize(world: World, job_id: int, solver: str) -> None:
    job = world.job(job_id)
    trace = Trace.make(job_id, job.attempt, job.num_segments)
    world.send(world.market.functions.commitTrace(*trace.args(job_id)), solver)
    world.advance(CHALLENGE_WINDOW + REVEAL_PHASE + 1)
    world.send(world.market.functions.finalizeJob(job_id), solver)


def test_finalized_jobs_count_and_add_their_value(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    assert record(world, solver) == (0, 0, 0, 0)
    world.stake(solver, 2 * MIN_SOLVER_STAKE)
    for reward in (10 * ETHER, 3 * ETHER + 7):
        job_id, _ = world.post(submitter, reward=reward)
        world.send(world.market.functions.claimJob(job_id), solver)
        finalize(world, job_id, solver)
    assert record(world, solver) == (2, 13 * ETHER + 7, 0, 0)
    assert record(world, stranger) == (0, 0, 0, 0)


def test_a_timeout_and_a_proven_fraud_each_count_once(
    world: World, submitter: str, solver: str, stranger: str, dispute_game: str
) -> None:
    timed_out = claimed_job(world, submitter, solver, solve_timeout=600)
    world.advance(601)
    world.send(world.market.functions.reclaimTimedOut(timed_out), stranger)
    assert record(world, solver) == (0, 0, 0, 1)

    cheated, _ = committed_job(world, submitter, solver)
    world.send(world.market.functions.reopenJob(cheated, [], []), dispute_game)
    assert record(world, solver) == (0, 0, 1, 1)
    assert record(world, stranger) == (0, 0, 0, 0)  # whoever reclaims gains nothing on record


def test_a_job_asking_for_a_record_admits_only_solvers_that_have_it(
    world: World, submitter: str, solver: str
) -> None:
    reward = 10 * ETHER
    gated, _ = world.post(submitter, reward=reward, terms=(reward, 0, 1))
    assert world.market.functions.termsOf(gated).call() == (reward, reward, 0, 0, 1)
    world.stake(solver, 2 * MIN_SOLVER_STAKE)
    claim = world.market.functions.claimJob(gated)
    world.expect_revert(claim, solver, "JobMarketRecordTooLow", gated, 0, 1)

    first, _ = world.post(submitter, reward=reward)
    world.send(world.market.functions.claimJob(first), solver)
    finalize(world, first, solver)
    world.send(claim, solver)
    assert world.job(gated).solver == solver


def test_rounds_units_carry_the_record_requirement(
    world: World, submitter: str, solver: str
) -> None:
    rounds_id, _ = post_rounds(
        world, submitter, workers=2, rounds=1, quorum=1, unit_min_finalized=2
    )
    unit = units(world, rounds_id, 0)[0]
    assert world.market.functions.termsOf(unit).call()[4] == 2
    world.stake(solver, MIN_SOLVER_STAKE)
    world.expect_revert(
        world.market.functions.claimJob(unit), solver, "JobMarketRecordTooLow", unit, 0, 2
    )
