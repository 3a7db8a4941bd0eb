"""DisputeGame + Jury: a fraud caught end to end (with the issue-4 gas benchmark), a false challenge."""

from __future__ import annotations

import pytest
from chain_dispute_kit import (
    HASH_HI,
    HASH_LO,
    HI,
    LO,
    FullTrace,
    bisect,
    challenge,
    commit_full,
    register_verifiers,
    run_jury,
)
from protocol_kit import DEAD, ETHER, JobStatus
from protocol_world import World
from web3 import Web3

pytestmark = pytest.mark.chain

DISPUTE_TOTAL_BAR = 2_500_000
MAX_BISECTION_MOVE_BAR = 150_000
REWARD = 10 * ETHER
LOCK = 100 * ETHER  # max(minSolverStake, 2 x reward)
BOND = 10 * ETHER  # max(minChallengeBond, reward / 10)
CHALLENGE_FEE = BOND // 2  # burned per revealed challenge
FEE = REWARD // 100  # per juror
VERIFIER_STAKE = 200 * ETHER
TRUTH = "truth"


def _setup(world: World, *, wrong_from: int | None) -> tuple[int, FullTrace, FullTrace, list[str]]:
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace = commit_full(
        world,
        submitter,
        solver,
        {"wrong_from": wrong_from},
        reward=REWARD,
        steps=128,
        checkpoint_every=64,
    )
    truth = FullTrace.make(job_id, 0, 2, 64)
    return job_id, trace, truth, verifiers


def test_fraud_is_caught_and_slashed(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace, truth, verifiers = _setup(world, wrong_from=64 + 10)
    challenger = verifiers[0]
    dispute_id, gas = challenge(world, challenger, job_id, 2)
    assert world.job(job_id).open_disputes == 1
    assert world.stake_info(challenger)[1] == BOND + CHALLENGE_FEE
    gas["openSegment"] = world.send(
        world.game.functions.openSegment(*trace.open_args(dispute_id, 2)), solver
    )["gasUsed"]
    gas |= bisect(world, dispute_id, solver, challenger, trace, truth, 2)
    dispute = world.game.functions.getDispute(dispute_id).call()
    assert (dispute[LO], dispute[HI]) == (9, 10)  # pinned: steps 9 → 10 of segment 2
    assert dispute[HASH_LO] == truth.hashes[64 + 9]
    assert dispute[HASH_HI] == trace.hashes[64 + 10]
    honest, lie = Web3.keccak(text="honest digest"), Web3.keccak(text="solver digest")
    jurors, jury_gas = run_jury(
        world,
        dispute_id,
        {solver: lie, challenger: honest, "juror0": honest, "juror1": honest, "juror2": honest},
    )
    assert len(jurors) == 3 and challenger not in jurors and solver not in jurors
    gas |= jury_gas
    # whole lock: jury fees, then 50% challenger, 25% submitter, rest burned
    rest = LOCK - 3 * FEE
    assert world.credit(challenger) == rest // 2
    assert world.credit(submitter) == rest // 4
    for juror in jurors:
        assert world.credit(juror) == FEE
        assert world.stake_info(juror) == (VERIFIER_STAKE, 0, 0, 0)
    assert world.balance(DEAD) == rest - rest // 2 - rest // 4 + CHALLENGE_FEE
    assert world.stake_info(solver) == (0, 0, 0, 0)
    assert world.stake_info(challenger) == (VERIFIER_STAKE - CHALLENGE_FEE, 0, 0, 0)
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.OPEN, 1, 0)
    assert world.balance(world.market.address) == REWARD + 2 * ETHER + LOCK - (
        rest - rest // 2 - rest // 4
    )
    total = sum(gas.values())
    bisection = max(gas[m] for m in ("openSegment", "proposeSplit", "chooseRange", "confirmStep"))
    print(f"\ndispute gas: {gas} dispute_total={total} max_bisection_move={bisection}")
    assert total <= DISPUTE_TOTAL_BAR
    assert bisection <= MAX_BISECTION_MOVE_BAR


def test_false_challenge_loses_the_bond(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace, _, verifiers = _setup(world, wrong_from=None)
    challenger = verifiers[0]
    dispute_id, _ = challenge(world, challenger, job_id, 1)
    world.send(world.game.functions.openSegment(*trace.open_args(dispute_id, 1)), solver)
    liar = FullTrace.make(job_id, 0, 2, 64, wrong_from=30)  # the challenger's false belief
    bisect(world, dispute_id, solver, challenger, trace, liar, 1)
    right, wrong = Web3.keccak(text="right"), Web3.keccak(text="wrong")
    jurors, _ = run_jury(
        world,
        dispute_id,
        {solver: right, challenger: wrong, "juror0": right, "juror1": right, "juror2": wrong},
    )
    # bond: jury fees to the majority (2), then 50% solver, 50% burned; the minority juror slashed
    rest = BOND - 2 * FEE
    assert world.credit(solver) == rest // 2
    assert world.credit(jurors[0]) == FEE and world.credit(jurors[1]) == FEE
    assert world.stake_info(jurors[2]) == (VERIFIER_STAKE - 5 * ETHER, 0, 0, 0)
    assert world.balance(DEAD) == rest - rest // 2 + 5 * ETHER + CHALLENGE_FEE
    assert world.stake_info(challenger) == (VERIFIER_STAKE - BOND - CHALLENGE_FEE, 0, 0, 0)
    job = world.job(job_id)
    assert (job.status, job.open_disputes) == (JobStatus.COMMITTED, 0)
    assert submitter != solver


def test_solver_conceding_unavailable_never_slashes_jurors(game_world: World) -> None:
    """A solver that reveals digest 0 ("unavailable") loses; jurors who also found the state
    unavailable (0) voted correctly and are paid like the others, not slashed as 'with the solver'."""
    world = game_world
    assert world.game is not None
    solver = world.accounts[2]
    job_id, trace, truth, verifiers = _setup(world, wrong_from=64 + 10)
    challenger = verifiers[0]
    dispute_id, _ = challenge(world, challenger, job_id, 2)
    world.send(world.game.functions.openSegment(*trace.open_args(dispute_id, 2)), solver)
    bisect(world, dispute_id, solver, challenger, trace, truth, 2)
    unavailable, honest = b"\x00" * 32, Web3.keccak(text="honest digest")
    jurors, _ = run_jury(
        world,
        dispute_id,
        {
            solver: unavailable,
            challenger: honest,
            "juror0": unavailable,
            "juror1": unavailable,
            "juror2": honest,
        },
    )
    rest = LOCK - 3 * FEE
    assert world.credit(challenger) == rest // 2
    for juror in jurors:
        assert world.credit(juror) == FEE
        assert world.stake_info(juror) == (VERIFIER_STAKE, 0, 0, 0)
    job = world.job(job_id)
    assert (job.status, job.attempt) == (JobStatus.OPEN, 1)
