"""JobMarket: deployment, postJob, cancelJob, withdraw."""

from __future__ import annotations

from typing import Any

import pytest
from protocol_kit import (
    CHALLENGE_WINDOW,
    ETHER,
    MAX_SOLVE_TIMEOUT,
    MAX_WINDOW_EXTENSION,
    MIN_SAMPLE_RATE_BPS,
    MIN_SOLVE_TIMEOUT,
    MIN_SOLVER_STAKE,
    JobStatus,
)
from protocol_world import SPEC_HASH, World, claimed_job
from web3.exceptions import ContractCustomError

from node.chain.compile import load_artifact

pytestmark = pytest.mark.chain

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_HASH = b"\x00" * 32


def test_views(world: World, dispute_game: str) -> None:
    market = world.market.functions
    assert market.token().call() == world.token.address
    assert market.stakeRegistry().call() == world.registry.address
    assert market.disputeGame().call() == dispute_game
    assert market.minSolverStake().call() == MIN_SOLVER_STAKE
    assert market.challengeWindow().call() == CHALLENGE_WINDOW
    assert market.minSampleRateBps().call() == MIN_SAMPLE_RATE_BPS
    assert market.minSolveTimeout().call() == MIN_SOLVE_TIMEOUT
    assert market.maxSolveTimeout().call() == MAX_SOLVE_TIMEOUT
    assert market.maxWindowExtension().call() == MAX_WINDOW_EXTENSION
    assert market.jobCount().call() == 0
    assert market.totalLiabilities().call() == 0
    world.expect_revert(market.getJob(1), world.owner, "JobMarketUnknownJob", 1)
    world.expect_revert(market.solverLockOf(0), world.owner, "JobMarketUnknownJob", 0)


@pytest.mark.parametrize(
    "change",
    [
        {"token_": ZERO_ADDRESS},
        {"attestations_": ZERO_ADDRESS},
        {"minSampleRateBps_": 10_001},
        {"minSolveTimeout_": 10, "maxSolveTimeout_": 9},
    ],
)
def test_constructor_rejects_bad_configuration(world: World, change: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "token_": world.token.address,
        "stakeRegistry_": world.registry.address,
        "disputeGame_": world.dispute_game,
        "attestations_": world.attestations.address,
        "revealPhase_": 1,
        "minSolverStake_": 1,
        "challengeWindow_": 1,
        "minSampleRateBps_": 1,
        "minSolveTimeout_": 1,
        "maxSolveTimeout_": 2,
        "maxWindowExtension_": 1,
    } | change
    artifact = load_artifact("JobMarket")
    factory = world.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(*args.values()).build_transaction(
        {"from": world.owner, "gas": 5_000_000}
    )
    with pytest.raises(ContractCustomError) as err:
        world.w3.eth.call(tx)
    assert world.errors.decode(bytes.fromhex(str(err.value.data)[2:])) == (
        "JobMarketInvalidConfiguration",
        (),
    )


def test_post_job(world: World, submitter: str) -> None:
    job_id, receipt = world.post(
        submitter, reward=10 * ETHER, verifier_fee=2 * ETHER, steps=32, checkpoint_every=4
    )
    assert job_id == 1  # ids start at 1
    assert world.logs(receipt) == [
        (
            "JobPosted",
            {
                "jobId": 1,
                "submitter": submitter,
                "specHash": SPEC_HASH,
                "reward": 10 * ETHER,
                "verifierFee": 2 * ETHER,
                "steps": 32,
                "checkpointEvery": 4,
                "solveTimeout": 3_600,
                "sampleRateBps": 1_000,
            },
        ),
        ("Transfer", {"from": submitter, "to": world.market.address, "value": 12 * ETHER}),
    ]
    job = world.job(1)
    assert (job.submitter, job.reward, job.solver, job.verifier_fee) == (
        submitter,
        10 * ETHER,
        ZERO_ADDRESS,
        2 * ETHER,
    )
    assert (job.spec_hash, job.num_segments, job.checkpoint_every, job.attempt) == (
        SPEC_HASH,
        8,
        4,
        0,
    )
    assert (job.solve_timeout, job.sample_rate_bps, job.open_disputes) == (3_600, 1_000, 0)
    assert (job.status, job.deadline, job.commitment) == (JobStatus.OPEN, 0, ZERO_HASH)
    assert world.balance(submitter) == 0
    assert world.balance(world.market.address) == 12 * ETHER
    assert world.market.functions.totalLiabilities().call() == 12 * ETHER

    second, _ = world.post(submitter, reward=1, verifier_fee=0)
    assert second == 2
    assert world.market.functions.jobCount().call() == 2
    assert world.market.functions.totalLiabilities().call() == 12 * ETHER + 1


INVALID_POSTS: list[tuple[dict[str, Any], str, tuple[Any, ...]]] = [
    ({"spec_hash": ZERO_HASH}, "JobMarketZeroSpecHash", ()),
    ({"steps": 0}, "JobMarketInvalidSteps", (0, 4)),
    ({"steps": 30}, "JobMarketInvalidSteps", (30, 4)),
    ({"checkpoint_every": 1, "steps": 8}, "JobMarketInvalidSteps", (8, 1)),
    ({"checkpoint_every": 0}, "JobMarketInvalidSteps", (32, 0)),
    ({"reward": 0}, "JobMarketZeroReward", ()),
    ({"sample_rate_bps": 999}, "JobMarketInvalidSampleRate", (999, MIN_SAMPLE_RATE_BPS)),
    ({"sample_rate_bps": 10_001}, "JobMarketInvalidSampleRate", (10_001, MIN_SAMPLE_RATE_BPS)),
    (
        {"solve_timeout": MIN_SOLVE_TIMEOUT - 1},
        "JobMarketInvalidSolveTimeout",
        (MIN_SOLVE_TIMEOUT - 1, MIN_SOLVE_TIMEOUT, MAX_SOLVE_TIMEOUT),
    ),
    (
        {"solve_timeout": MAX_SOLVE_TIMEOUT + 1},
        "JobMarketInvalidSolveTimeout",
        (MAX_SOLVE_TIMEOUT + 1, MIN_SOLVE_TIMEOUT, MAX_SOLVE_TIMEOUT),
    ),
]


@pytest.mark.parametrize(("change", "error", "args"), INVALID_POSTS)
def test_post_job_rejects(
    world: World, submitter: str, change: dict[str, Any], error: str, args: tuple[Any, ...]
) -> None:
    params: dict[str, Any] = {
        "spec_hash": SPEC_HASH,
        "steps": 32,
        "checkpoint_every": 4,
        "reward": 10,
        "verifier_fee": 2,
        "solve_timeout": 3_600,
        "sample_rate_bps": 1_000,
    } | change
    world.fund(submitter, 12)
    world.send(world.token.functions.approve(world.market.address, 12), submitter)
    world.expect_revert(world.market.functions.postJob(*params.values()), submitter, error, *args)


def test_post_job_checks_allowance_first(world: World, submitter: str) -> None:
    world.send(world.token.functions.approve(world.market.address, 11), submitter)
    post = world.market.functions.postJob(SPEC_HASH, 32, 4, 10, 2, 3_600, 1_000)
    world.expect_revert(post, submitter, "JobMarketInsufficientAllowance", 11, 12)
    world.send(world.token.functions.approve(world.market.address, 12), submitter)
    world.expect_revert(
        post, submitter, "ERC20InsufficientBalance", submitter, 0, 12
    )  # allowance fine, balance missing: the token's own error


def test_cancel_job_credits_the_submitter(world: World, submitter: str) -> None:
    job_id, _ = world.post(submitter, reward=10 * ETHER, verifier_fee=2 * ETHER)
    receipt = world.send(world.market.functions.cancelJob(job_id), submitter)
    assert world.logs(receipt) == [
        ("JobCancelled", {"jobId": job_id}),
        ("Credited", {"account": submitter, "amount": 12 * ETHER}),
    ]
    assert world.job(job_id).status == JobStatus.CANCELLED
    assert world.credit(submitter) == 12 * ETHER
    assert world.market.functions.totalLiabilities().call() == 12 * ETHER
    assert world.balance(world.market.address) == 12 * ETHER

    receipt = world.send(world.market.functions.withdraw(), submitter)
    assert world.logs(receipt) == [
        ("CreditWithdrawn", {"account": submitter, "amount": 12 * ETHER}),
        ("Transfer", {"from": world.market.address, "to": submitter, "value": 12 * ETHER}),
    ]
    assert world.balance(submitter) == 12 * ETHER
    assert world.balance(world.market.address) == 0
    assert world.credit(submitter) == 0
    assert world.market.functions.totalLiabilities().call() == 0


def test_cancel_job_rejects(world: World, submitter: str, solver: str, stranger: str) -> None:
    cancel = world.market.functions.cancelJob
    world.expect_revert(cancel(7), submitter, "JobMarketUnknownJob", 7)
    job_id, _ = world.post(submitter)
    world.expect_revert(cancel(job_id), stranger, "JobMarketNotSubmitter", job_id, stranger)
    claimed = claimed_job(world, submitter, solver)
    world.expect_revert(
        cancel(claimed), submitter, "JobMarketWrongStatus", claimed, JobStatus.CLAIMED
    )
    world.send(cancel(job_id), submitter)
    world.expect_revert(
        cancel(job_id), submitter, "JobMarketWrongStatus", job_id, JobStatus.CANCELLED
    )


def test_withdraw_without_credit_reverts(world: World, submitter: str, stranger: str) -> None:
    withdraw = world.market.functions.withdraw
    world.expect_revert(withdraw(), stranger, "JobMarketNothingToWithdraw", stranger)
    job_id, _ = world.post(submitter, reward=5, verifier_fee=0)
    world.send(world.market.functions.cancelJob(job_id), submitter)
    assert withdraw().call({"from": submitter}) == 5
    world.send(withdraw(), submitter)
    world.expect_revert(withdraw(), submitter, "JobMarketNothingToWithdraw", submitter)
