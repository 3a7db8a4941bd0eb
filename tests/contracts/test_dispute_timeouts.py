"""DisputeGame: timeouts (silent solver, stalling sybil), the shared jackpot, small juries, lazy jurors."""

from __future__ import annotations

import pytest
from chain_dispute_kit import (
    JURY,
    OUTCOME,
    PHASE,
    FullTrace,
    bisect,
    challenge,
    commit_full,
    register_verifiers,
    run_jury,
)
from eth_abi import encode
from protocol_kit import DEAD, ETHER, JUROR_SLASH, MOVE_CLOCK, JobStatus
from protocol_world import World
from web3 import Web3

pytestmark = pytest.mark.chain

LOCK = 100 * ETHER
BOND = 10 * ETHER
STAKE = 200 * ETHER


def _job(
    world: World, wrong_from: int | None, verifiers: tuple[int, ...] = (4, 5, 6, 7, 8)
) -> tuple[int, FullTrace, list[str]]:
    accounts = register_verifiers(world, STAKE, verifiers)
    job_id, trace = commit_full(
        world, world.accounts[1], world.accounts[2], {"wrong_from": wrong_from}
    )
    return job_id, trace, accounts


def test_silent_solver_loses_and_the_open_challengers_share_the_jackpot(game_world: World) -> None:
    """Issue 11: an earlier commit no longer takes the whole jackpot (a cheater's sybil would
    commit first); every open challenge of the convicted segment gets an equal share."""
    world = game_world
    assert world.game is not None
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, _, (early, late, *_) = _job(world, wrong_from=5)
    attempt = world.job(job_id).attempt
    salt = b"\x01" * 32

    def commitment(who: str) -> bytes:
        return Web3.keccak(
            encode(
                ["uint256", "uint256", "uint256", "address", "bytes32"],
                [job_id, attempt, 2, who, salt],
            )
        )

    world.send(world.game.functions.commitChallenge(commitment(early)), early)
    late_id, _ = challenge(world, late, job_id, 2, salt)
    world.send(world.game.functions.revealChallenge(job_id, 2, salt), early)
    assert world.job(job_id).open_disputes == 2
    world.expect_revert(
        world.game.functions.timeout(late_id),
        late,
        "DisputeGameClockRunning",
        late_id,
        world.game.functions.getDispute(late_id).call()[18] + MOVE_CLOCK,
    )
    world.advance(MOVE_CLOCK + 1)
    world.send(world.game.functions.timeout(late_id), late)
    rest = LOCK
    assert world.credit(early) == rest // 2 // 2
    assert world.credit(late) == rest // 2 - rest // 2 // 2
    assert world.credit(submitter) == rest // 4
    job = world.job(job_id)
    assert (job.status, job.attempt) == (JobStatus.OPEN, 1)
    early_id = late_id + 1
    # the conviction ended the co-challenge at once: nothing left to void
    assert world.game.functions.getDispute(early_id).call()[OUTCOME] == 3  # Void
    world.expect_revert(
        world.game.functions.voidStale(early_id), late, "DisputeGameNotStale", early_id
    )
    fee = BOND // 2  # each revealed challenge burned its fee
    assert world.stake_info(early) == (STAKE - fee, 0, 0, 0)
    assert world.stake_info(late) == (STAKE - fee, 0, 0, 0)
    assert world.balance(DEAD) == rest - rest // 2 - rest // 4 + 2 * fee
    assert world.stake_info(solver)[0] == 0


def test_stalling_sybil_loses_its_bond_and_extends_the_window(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    solver = world.accounts[2]
    job_id, trace, (sybil, *_) = _job(world, wrong_from=None)
    deadline = world.job(job_id).deadline
    dispute_id, _ = challenge(world, sybil, job_id, 1)
    world.send(world.game.functions.openSegment(*trace.open_args(dispute_id, 1)), solver)
    world.send(world.game.functions.proposeSplit(dispute_id, trace.hashes[1:4]), solver)
    world.advance(MOVE_CLOCK + 1)  # the sybil goes silent in Choose
    receipt = world.send(world.game.functions.timeout(dispute_id), solver)
    opened = world.game.functions.getDispute(dispute_id).call()[17]
    extension = world.w3.eth.get_block(receipt["blockNumber"])["timestamp"] - opened
    assert world.credit(solver) == BOND // 2
    assert world.stake_info(sybil) == (STAKE - BOND - BOND // 2, 0, 0, 0)  # bond and fee
    job = world.job(job_id)
    assert (job.status, job.open_disputes, job.deadline) == (
        JobStatus.COMMITTED,
        0,
        deadline + extension,
    )


def test_fewer_eligible_jurors_than_the_minimum_make_the_panel_wait(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    solver = world.accounts[2]
    job_id, trace, (challenger, *_) = _job(world, wrong_from=None, verifiers=(4, 5, 6))
    truth = trace
    dispute_id, _ = challenge(world, challenger, job_id, 1)
    world.send(world.game.functions.openSegment(*trace.open_args(dispute_id, 1)), solver)
    liar = FullTrace.make(job_id, 0, 8, 4, wrong_from=1)
    bisect(world, dispute_id, solver, challenger, truth, liar, 1)
    assert world.game.functions.getDispute(dispute_id).call()[PHASE] == JURY
    world.mine(2)
    receipt = world.send(world.jury.functions.recordSeed(dispute_id), world.owner)
    ((name, args),) = world.logs(receipt)
    # 2 eligible: one (the largest odd number) could sit, fewer than minJurors = 3 → nobody sits
    assert name == "JuryWaiting"
    assert (args["round"], args["seatable"], args["minJurors"]) == (0, 1, 3)
    assert args["seedBlock"] == receipt["blockNumber"] + 2


def test_lazy_juror_copying_the_public_state_hash_is_slashed(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    solver = world.accounts[2]
    job_id, trace, (challenger, *_) = _job(world, wrong_from=None)
    dispute_id, _ = challenge(world, challenger, job_id, 1)
    world.send(world.game.functions.openSegment(*trace.open_args(dispute_id, 1)), solver)
    bisect(
        world,
        dispute_id,
        solver,
        challenger,
        trace,
        FullTrace.make(job_id, 0, 8, 4, wrong_from=1),
        1,
    )
    public = world.game.functions.getDispute(dispute_id).call()[
        20
    ]  # hashHi: the solver's stateHash
    digest = Web3.keccak(text="BLAKE3(r || state)")
    jurors, _ = run_jury(
        world,
        dispute_id,
        {
            solver: digest,
            challenger: Web3.keccak(text="other"),
            "juror0": digest,
            "juror1": digest,
            "juror2": public,
        },
    )
    assert world.stake_info(jurors[2]) == (STAKE - JUROR_SLASH, 0, 0, 0)
    assert world.credit(jurors[2]) == 0
    assert world.credit(jurors[0]) == world.credit(jurors[1]) == 10 * ETHER // 100
    assert world.job(job_id).status == JobStatus.COMMITTED
