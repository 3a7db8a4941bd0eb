"""Chess clocks (docs/PROTOCOL.md §6): each party has `moveClock` seconds for all of its moves together; the
party to move loses once its clock runs out (`timeout`, anyone, no jury fees). Covers what
test_dispute_timeouts.py does not: the challenger running out in a later chooseRange, the solver
running out in proposeSplit after spending part of its clock opening, and a solver that proposed
hashes outside its segment root and so cannot confirmStep. K = 64, degree 16: two rounds of
propose/choose. Exact balances of every party and the solvency invariant after every transaction."""

from __future__ import annotations

from typing import Any

import pytest
from chain_dispute_kit import (
    CHOOSE,
    CONFIRM,
    LO,
    PHASE,
    PROPOSE,
    RESOLVED,
    FullTrace,
    challenge,
    commit_full,
    register_verifiers,
)
from dispute_paths_kit import (
    CHALLENGER_CLOCK,
    LAST_MOVE_AT,
    OPENED_AT,
    SOLVER_CLOCK,
    VERIFIER_STAKE,
    Changes,
    Ledger,
    challenger_lost,
    send_failing,
    solver_lost,
)
from protocol_kit import MOVE_CLOCK, JobStatus
from protocol_world import World
from web3.types import TxReceipt

pytestmark = pytest.mark.chain

K = 64


@pytest.fixture
def game(game_world: World) -> Any:
    assert game_world.game is not None
    return game_world.game.functions


def _challenged(
    world: World, wrong_from: int | None = None
) -> tuple[int, FullTrace, str, str, str, int, Ledger]:
    """A job of two segments of K = 64 steps, challenged on segment 1; ledger before the challenge."""
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace = commit_full(
        world, submitter, solver, {"wrong_from": wrong_from}, steps=2 * K, checkpoint_every=K
    )
    ledger = Ledger.take(world)
    dispute_id, _ = challenge(world, verifiers[0], job_id, 1)
    return job_id, trace, submitter, solver, verifiers[0], dispute_id, ledger


def _at(world: World, seconds: int, dispute_id: int) -> None:
    """The next transaction lands ``seconds`` after the dispute's last move."""
    assert world.game is not None
    last = world.game.functions.getDispute(dispute_id).call()[LAST_MOVE_AT]
    world.set_next_timestamp(last + seconds)


def _clocks(world: World, dispute_id: int) -> tuple[int, int]:
    assert world.game is not None
    d = world.game.functions.getDispute(dispute_id).call()
    return d[SOLVER_CLOCK], d[CHALLENGER_CLOCK]


def _runs_out(world: World, dispute_id: int, late_move: Any, mover: str, *, left: int) -> TxReceipt:
    """The mover has ``left`` seconds: at the deadline it may still move (timeout refused), one
    second later its move fails and anyone's `timeout` settles. Returns the timeout's receipt."""
    assert world.game is not None
    game = world.game.functions
    deadline = game.getDispute(dispute_id).call()[LAST_MOVE_AT] + left
    world.mine_at(deadline)
    stranger = world.accounts[3]
    world.expect_revert(
        game.timeout(dispute_id), stranger, "DisputeGameClockRunning", dispute_id, deadline
    )
    world.mine_at(deadline + 1)
    send_failing(
        world,
        late_move,
        mover,
        "DisputeGameOutOfTime",
        dispute_id,
        deadline,
        observe=lambda: game.getDispute(dispute_id).call(),
    )
    receipt = world.send(game.timeout(dispute_id), stranger)
    timed_out = [a for n, a in world.logs(receipt) if n == "DisputeTimedOut"]
    assert timed_out == [{"disputeId": dispute_id, "party": mover}]
    assert game.getDispute(dispute_id).call()[PHASE] == RESOLVED
    world.expect_revert(
        game.timeout(dispute_id), stranger, "DisputeGameWrongPhase", dispute_id, RESOLVED
    )
    return receipt


def test_the_challenger_runs_out_in_a_later_choose(game_world: World, game: Any) -> None:
    world = game_world
    job_id, trace, _, solver, challenger, dispute_id, ledger = _challenged(world)
    deadline = world.job(job_id).deadline
    liar = FullTrace.make(job_id, 0, 2, K, wrong_from=40)
    _at(world, 5, dispute_id)
    world.send(game.openSegment(*trace.open_args(dispute_id, 1)), solver)
    points = [int(p) for p in game.splitPoints(dispute_id).call()]
    hashes = [trace.hashes[p] for p in points]
    _at(world, 5, dispute_id)
    world.send(game.proposeSplit(dispute_id, hashes), solver)
    assert _clocks(world, dispute_id) == (MOVE_CLOCK - 10, MOVE_CLOCK)
    # the challenger thinks for 100 s: 20 s left for all its later moves
    k = next(x for x, p in enumerate(points) if trace.hashes[p] != liar.hashes[p])
    _at(world, 100, dispute_id)
    world.send(game.chooseRange(dispute_id, k, hashes), challenger)
    assert _clocks(world, dispute_id) == (MOVE_CLOCK - 10, MOVE_CLOCK - 100)
    points = [int(p) for p in game.splitPoints(dispute_id).call()]
    hashes = [trace.hashes[p] for p in points]
    _at(world, 1, dispute_id)
    world.send(game.proposeSplit(dispute_id, hashes), solver)
    assert game.getDispute(dispute_id).call()[PHASE] == CHOOSE

    receipt = _runs_out(
        world, dispute_id, game.chooseRange(dispute_id, 0, hashes), challenger, left=20
    )
    expected = Changes()
    challenger_lost(expected, challenger=challenger, solver=solver)  # no jury, no fees
    ledger.assert_changes(expected)
    opened = game.getDispute(dispute_id).call()[OPENED_AT]
    ended = world.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    job = world.job(job_id)
    assert (job.status, job.open_disputes) == (JobStatus.COMMITTED, 0)
    assert job.deadline == deadline + (ended - opened)


def test_the_solver_runs_out_in_a_later_propose(game_world: World, game: Any) -> None:
    world = game_world
    job_id, trace, submitter, solver, challenger, dispute_id, ledger = _challenged(
        world, wrong_from=30
    )
    truth = FullTrace.make(job_id, 0, 2, K)
    _at(world, 70, dispute_id)  # the opening takes 70 s of the solver's clock
    world.send(game.openSegment(*trace.open_args(dispute_id, 1)), solver)
    points = [int(p) for p in game.splitPoints(dispute_id).call()]
    hashes = [trace.hashes[p] for p in points]
    _at(world, 30, dispute_id)
    world.send(game.proposeSplit(dispute_id, hashes), solver)
    k = next(x for x, p in enumerate(points) if trace.hashes[p] != truth.hashes[p])
    _at(world, 3, dispute_id)
    world.send(game.chooseRange(dispute_id, k, hashes), challenger)
    assert _clocks(world, dispute_id) == (MOVE_CLOCK - 100, MOVE_CLOCK - 3)
    assert game.getDispute(dispute_id).call()[PHASE] == PROPOSE
    points = [int(p) for p in game.splitPoints(dispute_id).call()]

    _runs_out(
        world,
        dispute_id,
        game.proposeSplit(dispute_id, [trace.hashes[p] for p in points]),
        solver,
        left=MOVE_CLOCK - 100,
    )
    expected = Changes()
    solver_lost(expected, solver=solver, winner=challenger, submitter=submitter)
    ledger.assert_changes(expected)
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.OPEN, 1, 0)


def test_a_solver_that_proposed_hashes_outside_its_root_cannot_confirm(
    game_world: World, game: Any
) -> None:
    """The solver committed a faked segment (from step 10) but proposes the honest hashes, so the
    challenger agrees with every split point: the range closes on the committed (faked) end, and
    the lower hash of the pinned pair is not a step leaf of the committed segment root."""
    world = game_world
    job_id, trace, submitter, solver, challenger, dispute_id, ledger = _challenged(
        world, wrong_from=10
    )
    honest = FullTrace.make(job_id, 0, 2, K)
    world.send(game.openSegment(*trace.open_args(dispute_id, 1)), solver)
    while game.getDispute(dispute_id).call()[PHASE] == PROPOSE:
        points = [int(p) for p in game.splitPoints(dispute_id).call()]
        hashes = [honest.hashes[p] for p in points]  # not what the solver committed
        world.send(game.proposeSplit(dispute_id, hashes), solver)
        world.send(game.chooseRange(dispute_id, len(points), hashes), challenger)
    dispute = game.getDispute(dispute_id).call()
    assert (dispute[PHASE], dispute[LO]) == (CONFIRM, K - 1)
    tree = trace.step_trees[1]
    confirm = game.confirmStep(dispute_id, tree.proof(K - 1), tree.proof(K))
    send_failing(
        world,
        confirm,
        solver,
        "DisputeGameBadSplit",
        dispute_id,
        0,
        observe=lambda: game.getDispute(dispute_id).call(),
    )
    left = game.getDispute(dispute_id).call()[SOLVER_CLOCK]
    _runs_out(world, dispute_id, confirm, solver, left=left)
    expected = Changes()
    solver_lost(expected, solver=solver, winner=challenger, submitter=submitter)
    ledger.assert_changes(expected)
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.OPEN, 1, 0)
