"""JobMarket: finalizeJob and the payouts it leaves for withdraw."""

from __future__ import annotations

import pytest
from protocol_kit import ETHER, MIN_SOLVER_STAKE, REVEAL_PHASE, JobStatus
from protocol_world import World, claimed_job, committed_job

pytestmark = pytest.mark.chain


def test_finalize_credits_solver_and_submitter(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    job_id, _ = committed_job(world, submitter, solver, reward=10 * ETHER, verifier_fee=2 * ETHER)
    world.mine_at(world.job(job_id).deadline + REVEAL_PHASE + 1)
    receipt = world.send(world.market.functions.finalizeJob(job_id), stranger)
    assert world.logs(receipt) == [
        (
            "JobFinalized",
            {
                "jobId": job_id,
                "solver": solver,
                "reward": 10 * ETHER,
                "attesterPaid": 0,
                "refund": 2 * ETHER,
            },
        ),
        ("Credited", {"account": solver, "amount": 10 * ETHER}),
        ("Credited", {"account": submitter, "amount": 2 * ETHER}),
        ("StakeUnlocked", {"account": solver, "amount": MIN_SOLVER_STAKE}),
    ]
    assert world.job(job_id).status == JobStatus.FINALIZED
    assert world.credit(solver) == 10 * ETHER
    assert world.credit(submitter) == 2 * ETHER
    assert world.stake_info(solver) == (MIN_SOLVER_STAKE, 0, 0, 0)
    assert world.market.functions.totalLiabilities().call() == 12 * ETHER

    world.send(world.market.functions.withdraw(), solver)
    world.send(world.market.functions.withdraw(), submitter)
    assert world.balance(solver) == 10 * ETHER
    assert world.balance(submitter) == 2 * ETHER
    assert world.balance(world.market.address) == 0
    assert world.market.functions.totalLiabilities().call() == 0


def test_finalize_without_verifier_fee_credits_only_the_solver(
    world: World, submitter: str, solver: str
) -> None:
    job_id, _ = committed_job(world, submitter, solver, reward=3, verifier_fee=0)
    world.mine_at(world.job(job_id).deadline + REVEAL_PHASE + 1)
    receipt = world.send(world.market.functions.finalizeJob(job_id), solver)
    assert [name for name, _ in world.logs(receipt)] == [
        "JobFinalized",
        "Credited",
        "StakeUnlocked",
    ]
    assert world.credit(submitter) == 0


def test_credits_accumulate_across_jobs(world: World, submitter: str, solver: str) -> None:
    first, _ = committed_job(world, submitter, solver, reward=5, verifier_fee=1)
    world.stake(solver, MIN_SOLVER_STAKE)
    second, _ = committed_job(world, submitter, solver, reward=7, verifier_fee=0)
    world.mine_at(world.job(second).deadline + REVEAL_PHASE + 1)
    world.send(world.market.functions.finalizeJob(first), solver)
    world.send(world.market.functions.withdraw(), solver)
    world.send(world.market.functions.finalizeJob(second), solver)
    assert world.credit(solver) == 7
    assert world.market.functions.withdraw().call({"from": solver}) == 7
    world.send(world.market.functions.withdraw(), solver)
    assert world.balance(solver) == 12
    assert world.credit(submitter) == 1


def test_finalize_waits_for_the_window(world: World, submitter: str, solver: str) -> None:
    job_id, _ = committed_job(world, submitter, solver)
    deadline = world.job(job_id).deadline
    world.mine_at(deadline + REVEAL_PHASE)  # the reveal phase includes its last second
    world.expect_revert(
        world.market.functions.finalizeJob(job_id),
        solver,
        "JobMarketChallengeWindowOpen",
        job_id,
        deadline + REVEAL_PHASE,
    )


def test_finalize_rejects(world: World, submitter: str, solver: str, dispute_game: str) -> None:
    finalize = world.market.functions.finalizeJob
    world.expect_revert(finalize(9), solver, "JobMarketUnknownJob", 9)
    claimed = claimed_job(world, submitter, solver)
    world.expect_revert(
        finalize(claimed), solver, "JobMarketWrongStatus", claimed, JobStatus.CLAIMED
    )
    world.stake(solver, MIN_SOLVER_STAKE)
    job_id, _ = committed_job(world, submitter, solver)
    world.send(world.market.functions.freezeJob(job_id), dispute_game)
    world.mine_at(world.job(job_id).deadline + REVEAL_PHASE + 1)
    world.expect_revert(finalize(job_id), solver, "JobMarketFrozen", job_id, 1)
    world.send(world.market.functions.unfreezeJob(job_id), dispute_game)
    # the window moved by the frozen time
    world.mine_at(world.job(job_id).deadline + REVEAL_PHASE + 1)
    world.send(finalize(job_id), solver)
    world.expect_revert(
        finalize(job_id), solver, "JobMarketWrongStatus", job_id, JobStatus.FINALIZED
    )
