"""JobMarket: claimJob, commitTrace, reclaimTimedOut."""

from __future__ import annotations

import pytest
from protocol_kit import CHALLENGE_WINDOW, DEAD, ETHER, MIN_SOLVER_STAKE, JobStatus
from protocol_world import Trace, World, claimed_job
from web3 import Web3

pytestmark = pytest.mark.chain

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@pytest.mark.parametrize(
    ("reward", "lock"),
    [(10 * ETHER, MIN_SOLVER_STAKE), (80 * ETHER, 160 * ETHER)],
    ids=["min-stake", "twice-reward"],
)
def test_claim_job_locks_stake(
    world: World, submitter: str, solver: str, reward: int, lock: int
) -> None:
    job_id, _ = world.post(submitter, reward=reward, solve_timeout=600)
    assert world.market.functions.solverLockOf(job_id).call() == lock
    world.stake(solver, lock + 5)
    receipt = world.send(world.market.functions.claimJob(job_id), solver)
    deadline = world.now() + 600
    assert world.logs(receipt) == [
        (
            "JobClaimed",
            {
                "jobId": job_id,
                "solver": solver,
                "attempt": 0,
                "lockedStake": lock,
                "solveDeadline": deadline,
                "price": reward,
            },
        ),
        ("StakeLocked", {"account": solver, "amount": lock}),
    ]
    job = world.job(job_id)
    assert (job.solver, job.status, job.deadline) == (solver, JobStatus.CLAIMED, deadline)
    assert world.stake_info(solver) == (lock + 5, lock, 0, 0)


def test_claim_job_rejects(world: World, submitter: str, solver: str, stranger: str) -> None:
    claim = world.market.functions.claimJob
    world.expect_revert(claim(3), solver, "JobMarketUnknownJob", 3)
    job_id, _ = world.post(submitter)
    world.stake(stranger, MIN_SOLVER_STAKE - 1)
    world.expect_revert(
        claim(job_id),
        stranger,
        "StakeRegistryInsufficientFreeStake",
        stranger,
        MIN_SOLVER_STAKE - 1,
        MIN_SOLVER_STAKE,
    )
    world.stake(solver, MIN_SOLVER_STAKE)
    world.send(claim(job_id), solver)
    world.expect_revert(claim(job_id), solver, "JobMarketWrongStatus", job_id, JobStatus.CLAIMED)


def test_commit_trace(world: World, submitter: str, solver: str) -> None:
    job_id = claimed_job(world, submitter, solver, steps=40, checkpoint_every=8)
    trace = Trace.make(job_id, 0, 5)
    receipt = world.send(world.market.functions.commitTrace(*trace.args(job_id)), solver)
    deadline = world.now() + CHALLENGE_WINDOW
    assert world.logs(receipt) == [
        (
            "JobCommitted",
            {
                "jobId": job_id,
                "solver": solver,
                "attempt": 0,
                "stateRoot": trace.state_root,
                "segRootsRoot": trace.seg_roots_root,
                "finalStateHash": trace.final_state_hash,
                "manifestHash": trace.manifest_hash,
                "challengeDeadline": deadline,
            },
        )
    ]
    job = world.job(job_id)
    assert (job.status, job.deadline, job.commitment) == (
        JobStatus.COMMITTED,
        deadline,
        trace.commitment,
    )


def test_commit_trace_rejects_bad_callers_and_states(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    commit = world.market.functions.commitTrace
    trace = Trace.make(1, 0, 8)
    world.expect_revert(commit(*trace.args(1)), solver, "JobMarketUnknownJob", 1)
    job_id, _ = world.post(submitter)
    world.expect_revert(
        commit(*trace.args(job_id)), solver, "JobMarketWrongStatus", job_id, JobStatus.OPEN
    )
    world.stake(solver, MIN_SOLVER_STAKE)
    world.send(world.market.functions.claimJob(job_id), solver)
    world.expect_revert(
        commit(*trace.args(job_id)), stranger, "JobMarketNotSolver", job_id, stranger
    )
    world.send(commit(*trace.args(job_id)), solver)
    world.expect_revert(
        commit(*trace.args(job_id)), solver, "JobMarketWrongStatus", job_id, JobStatus.COMMITTED
    )


def test_commit_trace_rejects_bad_proofs(world: World, submitter: str, solver: str) -> None:
    job_id = claimed_job(world, submitter, solver)  # N = 8: 9 checkpoint leaves, depth 4
    commit = world.market.functions.commitTrace
    good = Trace.make(job_id, 0, 8)
    other_attempt = Trace.make(job_id, 1, 8)
    other_job = Trace.make(job_id + 1, 0, 8)
    fewer_segments = Trace.make(job_id, 0, 7)  # leaf 7 of 8: wrong index, wrong depth
    cases = [
        (*good.args(job_id)[:3], Web3.keccak(text="fake weights"), *good.args(job_id)[4:]),
        (*good.args(job_id)[:5], [*good.proof, b"\x00" * 32]),
        (*good.args(job_id)[:5], good.proof[:-1]),
        (*good.args(job_id)[:5], []),
        other_attempt.args(job_id),
        other_job.args(job_id),
        fewer_segments.args(job_id),
    ]
    for args in cases:
        world.expect_revert(commit(*args), solver, "JobMarketInvalidFinalStateProof", job_id)
    world.send(commit(*good.args(job_id)), solver)


def test_single_segment_job_commits_with_a_depth_one_proof(
    world: World, submitter: str, solver: str
) -> None:
    job_id = claimed_job(world, submitter, solver, steps=4, checkpoint_every=4)
    trace = Trace.make(job_id, 0, 1)
    assert len(trace.proof) == 1
    world.send(world.market.functions.commitTrace(*trace.args(job_id)), solver)


def test_commit_deadline_is_inclusive(world: World, submitter: str, solver: str) -> None:
    first = claimed_job(world, submitter, solver)
    world.stake(solver, MIN_SOLVER_STAKE)
    second, _ = world.post(submitter)
    world.send(world.market.functions.claimJob(second), solver)
    deadline = world.job(first).deadline
    world.set_next_timestamp(deadline)
    world.send(world.market.functions.commitTrace(*Trace.make(first, 0, 8).args(first)), solver)
    second_deadline = world.job(second).deadline
    world.mine_at(second_deadline + 1)
    world.expect_revert(
        world.market.functions.commitTrace(*Trace.make(second, 0, 8).args(second)),
        solver,
        "JobMarketSolveDeadlinePassed",
        second,
        second_deadline,
    )


def test_reclaim_timed_out_burns_a_tenth(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    reward = 50 * ETHER + 3  # lock 100e18 + 6: the burned tenth rounds down
    lock = 2 * reward
    job_id = claimed_job(world, submitter, solver, reward=reward)
    deadline = world.job(job_id).deadline
    world.mine_at(deadline)
    world.expect_revert(
        world.market.functions.reclaimTimedOut(job_id),
        stranger,
        "JobMarketSolveDeadlineNotReached",
        job_id,
        deadline,
    )
    world.mine_at(deadline + 1)
    receipt = world.send(world.market.functions.reclaimTimedOut(job_id), stranger)
    burned = lock // 10
    assert burned == 10 * ETHER
    assert world.logs(receipt) == [
        (
            "JobSolveTimedOut",
            {"jobId": job_id, "solver": solver, "burned": burned, "newAttempt": 1},
        ),
        ("StakeBurned", {"account": solver, "amount": burned}),
        ("Transfer", {"from": world.registry.address, "to": DEAD, "value": burned}),
        ("StakeUnlocked", {"account": solver, "amount": lock - burned}),
    ]
    job = world.job(job_id)
    assert (job.status, job.solver, job.attempt, job.deadline) == (
        JobStatus.OPEN,
        ZERO_ADDRESS,
        1,
        0,
    )
    assert world.stake_info(solver) == (lock - burned, 0, 0, 0)
    assert world.balance(DEAD) == burned
    assert world.balance(world.market.address) == reward + 2 * ETHER  # escrow intact

    # The reopened job is claimable again, and only attempt 1's leaves verify.
    world.stake(solver, burned)
    world.send(world.market.functions.claimJob(job_id), solver)
    assert world.job(job_id).solver == solver
    world.expect_revert(
        world.market.functions.commitTrace(*Trace.make(job_id, 0, 8).args(job_id)),
        solver,
        "JobMarketInvalidFinalStateProof",
        job_id,
    )
    world.send(world.market.functions.commitTrace(*Trace.make(job_id, 1, 8).args(job_id)), solver)


def test_reclaim_timed_out_rejects(world: World, submitter: str, stranger: str) -> None:
    reclaim = world.market.functions.reclaimTimedOut
    world.expect_revert(reclaim(4), stranger, "JobMarketUnknownJob", 4)
    job_id, _ = world.post(submitter)
    world.expect_revert(reclaim(job_id), stranger, "JobMarketWrongStatus", job_id, JobStatus.OPEN)
