"""JobMarket: the dispute game's entry points freezeJob, unfreezeJob and reopenJob."""

from __future__ import annotations

import pytest
from protocol_kit import DEAD, ETHER, MIN_SOLVER_STAKE, REVEAL_PHASE, JobStatus
from protocol_world import Trace, World, claimed_job, committed_job

pytestmark = pytest.mark.chain

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_only_the_dispute_game_may_call(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    job_id, _ = committed_job(world, submitter, solver)
    market = world.market.functions
    for fn in (
        market.freezeJob(job_id),
        market.unfreezeJob(job_id),
        market.reopenJob(job_id, [], []),
    ):
        world.expect_revert(fn, stranger, "JobMarketNotDisputeGame", stranger)
        world.expect_revert(fn, solver, "JobMarketNotDisputeGame", solver)


def test_entry_points_need_a_committed_job(
    world: World, submitter: str, solver: str, dispute_game: str
) -> None:
    market = world.market.functions
    job_id, _ = world.post(submitter)  # freeze needs Claimed (dataset claims) or Committed
    for fn in (
        market.freezeJob,
        market.unfreezeJob,
        lambda j: market.reopenJob(j, [], []),
    ):
        world.expect_revert(fn(99), dispute_game, "JobMarketUnknownJob", 99)
        world.expect_revert(
            fn(job_id), dispute_game, "JobMarketWrongStatus", job_id, JobStatus.OPEN
        )
    claimed = claimed_job(world, submitter, solver)
    world.expect_revert(
        market.reopenJob(claimed, [], []),
        dispute_game,
        "JobMarketWrongStatus",
        claimed,
        JobStatus.CLAIMED,
    )


def test_freeze_and_unfreeze(world: World, submitter: str, solver: str, dispute_game: str) -> None:
    """Two overlapping disputes: the deadline moves once, when the last closes, by the time the
    job was frozen (75 s from the first freeze), not by the sum of both disputes' durations."""
    market = world.market.functions
    job_id, _ = committed_job(world, submitter, solver)
    deadline = world.job(job_id).deadline
    world.expect_revert(market.unfreezeJob(job_id), dispute_game, "JobMarketNotFrozen", job_id)

    start = world.now() + 10
    world.set_next_timestamp(start)
    receipt = world.send(market.freezeJob(job_id), dispute_game)
    assert world.logs(receipt) == [("JobFrozen", {"jobId": job_id, "openDisputes": 1})]
    world.set_next_timestamp(start + 20)
    receipt = world.send(market.freezeJob(job_id), dispute_game)
    assert world.logs(receipt) == [("JobFrozen", {"jobId": job_id, "openDisputes": 2})]
    assert world.job(job_id).open_disputes == 2

    world.set_next_timestamp(start + 30)
    receipt = world.send(market.unfreezeJob(job_id), dispute_game)
    assert world.logs(receipt) == [
        (
            "JobUnfrozen",
            {"jobId": job_id, "openDisputes": 1, "extension": 0, "challengeDeadline": deadline},
        )
    ]
    world.set_next_timestamp(start + 75)
    receipt = world.send(market.unfreezeJob(job_id), dispute_game)
    assert world.logs(receipt)[0][1]["extension"] == 75
    assert world.logs(receipt)[0][1]["challengeDeadline"] == deadline + 75
    job = world.job(job_id)
    assert (job.open_disputes, job.deadline, job.status) == (0, deadline + 75, JobStatus.COMMITTED)

    world.mine_at(deadline + 75 + REVEAL_PHASE)
    world.expect_revert(
        market.finalizeJob(job_id),
        solver,
        "JobMarketChallengeWindowOpen",
        job_id,
        deadline + 75 + REVEAL_PHASE,
    )
    world.mine_at(deadline + 76 + REVEAL_PHASE)
    world.send(market.finalizeJob(job_id), solver)


def test_reopen_slashes_the_whole_lock(
    world: World, submitter: str, solver: str, stranger: str, dispute_game: str
) -> None:
    market = world.market.functions
    reward = 80 * ETHER  # lock 160
    job_id, _ = committed_job(world, submitter, solver, reward=reward, verifier_fee=ETHER)
    world.send(market.freezeJob(job_id), dispute_game)
    payees, amounts = [stranger, submitter, stranger], [60 * ETHER, 40 * ETHER, 5 * ETHER]
    receipt = world.send(market.reopenJob(job_id, payees, amounts), dispute_game)
    assert world.logs(receipt) == [
        (
            "JobReopened",
            {
                "jobId": job_id,
                "solver": solver,
                "paid": 105 * ETHER,
                "burned": 55 * ETHER,
                "newAttempt": 1,
            },
        ),
        ("Credited", {"account": stranger, "amount": 60 * ETHER}),
        ("Credited", {"account": submitter, "amount": 40 * ETHER}),
        ("Credited", {"account": stranger, "amount": 5 * ETHER}),
        (
            "StakeSlashed",
            {"account": solver, "amount": 105 * ETHER, "recipient": world.market.address},
        ),
        (
            "Transfer",
            {"from": world.registry.address, "to": world.market.address, "value": 105 * ETHER},
        ),
        ("StakeBurned", {"account": solver, "amount": 55 * ETHER}),
        ("Transfer", {"from": world.registry.address, "to": DEAD, "value": 55 * ETHER}),
    ]
    job = world.job(job_id)
    assert (job.status, job.solver, job.attempt, job.open_disputes, job.deadline) == (
        JobStatus.OPEN,
        ZERO_ADDRESS,
        1,
        0,
        0,
    )
    assert job.commitment == b"\x00" * 32
    assert world.stake_info(solver) == (0, 0, 0, 0)
    assert world.credit(stranger) == 65 * ETHER
    assert world.credit(submitter) == 40 * ETHER
    assert world.balance(DEAD) == 55 * ETHER
    assert world.balance(world.market.address) == 81 * ETHER + 105 * ETHER  # escrow intact

    # A new solver takes attempt 1.
    other = world.accounts[6]
    world.stake(other, 2 * reward)
    world.send(market.claimJob(job_id), other)
    world.send(market.commitTrace(*Trace.make(job_id, 1, 8).args(job_id)), other)
    world.send(market.withdraw(), stranger)
    assert world.balance(stranger) == 65 * ETHER


def test_reopen_with_no_payees_burns_everything(
    world: World, submitter: str, solver: str, dispute_game: str
) -> None:
    job_id, _ = committed_job(world, submitter, solver)
    receipt = world.send(world.market.functions.reopenJob(job_id, [], []), dispute_game)
    assert [name for name, _ in world.logs(receipt)] == ["JobReopened", "StakeBurned", "Transfer"]
    assert world.balance(DEAD) == MIN_SOLVER_STAKE


def test_reopen_paying_the_whole_lock_burns_nothing(
    world: World, submitter: str, solver: str, stranger: str, dispute_game: str
) -> None:
    job_id, _ = committed_job(world, submitter, solver)
    receipt = world.send(
        world.market.functions.reopenJob(job_id, [stranger], [MIN_SOLVER_STAKE]), dispute_game
    )
    assert [name for name, _ in world.logs(receipt)] == [
        "JobReopened",
        "Credited",
        "StakeSlashed",
        "Transfer",
    ]
    assert world.credit(stranger) == MIN_SOLVER_STAKE
    assert world.balance(DEAD) == 0


def test_reopen_rejects_bad_payouts(
    world: World, submitter: str, solver: str, stranger: str, dispute_game: str
) -> None:
    reopen = world.market.functions.reopenJob
    job_id, _ = committed_job(world, submitter, solver)
    world.expect_revert(
        reopen(job_id, [stranger, submitter], [1]), dispute_game, "JobMarketInvalidPayouts", 1, 2
    )
    world.expect_revert(
        reopen(job_id, [stranger, submitter], [MIN_SOLVER_STAKE, 1]),
        dispute_game,
        "JobMarketInvalidPayouts",
        MIN_SOLVER_STAKE + 1,
        MIN_SOLVER_STAKE,
    )
