"""The solver's openings (docs/PROTOCOL.md §6, DISPUTES.md): every boundary check of `openSegment` reverts
with its own error and changes nothing (the solver may still open within its clock); a solver whose
committed step tree contradicts its checkpoint leaves cannot open and loses exactly at its clock;
the initial-state dispute (i = 0) catches a wrong initial state and upholds an honest one.
Exact balances of every party and the solvency invariant after every transaction."""

from __future__ import annotations

from typing import Any

import pytest
from chain_dispute_kit import (
    JURY,
    OPENING,
    PHASE,
    PROPOSE,
    FullTrace,
    challenge,
    commit_full,
    register_verifiers,
)
from dispute_paths_kit import (
    BOND,
    CHALLENGE_FEE,
    INITIAL_STATE,
    KIND,
    LAST_MOVE_AT,
    SEGMENT,
    VERIFIER_STAKE,
    Changes,
    Ledger,
    challenger_lost,
    jurors_settled,
    jury_round,
    send_failing,
    solver_lost,
    tamper_steps,
)
from protocol_kit import JUROR_SLASH, MOVE_CLOCK, JobStatus
from protocol_world import World
from web3 import Web3

pytestmark = pytest.mark.chain

K, N = 4, 8
SEG = 3  # the disputed segment: checkpoints 2 and 3, segment leaf 3
HONEST, LIE = Web3.keccak(text="honest digest"), Web3.keccak(text="solver digest")


def _challenged(
    world: World, segment: int, wrong_from: int | None = None
) -> tuple[int, FullTrace, str, str, str, int, Ledger]:
    """Job (N = 8, K = 4) committed from a full trace and challenged on ``segment``; the ledger
    is taken before the challenge. Returns job, trace, submitter, solver, challenger, dispute,
    ledger."""
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace = commit_full(world, submitter, solver, {"wrong_from": wrong_from})
    ledger = Ledger.take(world)
    dispute_id, _ = challenge(world, verifiers[0], job_id, segment)
    return job_id, trace, submitter, solver, verifiers[0], dispute_id, ledger


def _observer(world: World, job_id: int, dispute_id: int) -> Any:
    assert world.game is not None
    game = world.game.functions
    return lambda: (game.getDispute(dispute_id).call(), world.job(job_id))


def test_every_bad_opening_reverts_and_changes_nothing(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    game = world.game.functions
    job_id, trace, _, solver, challenger, dispute_id, ledger = _challenged(world, SEG)
    assert game.getDispute(dispute_id).call()[KIND] == SEGMENT
    observe = _observer(world, job_id, dispute_id)
    good = list(trace.open_args(dispute_id, SEG))
    # openSegment(id, commitment, hashStart, startProof, hashEnd, endProof, segRoot, segProof,
    #             step0Proof, stepKProof): argument positions
    commitment, h_start, p_start, h_end, p_end, seg_root, p_seg, p_step0, p_step_k = range(1, 10)
    steps = trace.step_trees[SEG]

    def opening(changes: dict[int, Any]) -> Any:
        return game.openSegment(*[changes.get(x, arg) for x, arg in enumerate(good)])

    def fails(fn: Any, sender: str, error: str, *args: Any) -> None:
        send_failing(world, fn, sender, error, *args, observe=observe)

    def bad(changes: dict[int, Any], what: int) -> None:
        fails(opening(changes), solver, "DisputeGameBadOpening", dispute_id, what)

    stranger = world.accounts[3]
    fails(game.openSegment(*good), challenger, "DisputeGameNotYourMove", dispute_id, challenger)
    fails(game.openSegment(*good), stranger, "DisputeGameNotYourMove", dispute_id, stranger)
    fails(game.openSegment(99, *good[1:]), solver, "DisputeGameUnknownDispute", 99)
    # an initial-state opening is no answer to a segment challenge
    fails(
        game.openInitialState(dispute_id, trace.commitment, trace.hashes[0], []),
        solver,
        "DisputeGameWrongKind",
        dispute_id,
        SEGMENT,
    )
    # a preimage of another commitment
    other = [*trace.commitment[:3], Web3.keccak(text="another manifest")]
    fails(opening({commitment: other}), solver, "DisputeGameCommitmentMismatch", job_id)
    # 1: checkpoint leaf i-1 — another stateHash, another leaf's proof, wrong proof lengths
    bad({h_start: trace.hashes[SEG * K]}, 1)
    bad({p_start: trace.checkpoints.proof(SEG)}, 1)
    bad({p_start: [*trace.checkpoints.proof(SEG - 1), b"\x00" * 32]}, 1)
    bad({p_start: []}, 1)
    # 2: checkpoint leaf i
    bad({h_end: trace.hashes[(SEG - 1) * K]}, 2)
    bad({p_end: trace.checkpoints.proof(SEG + 1)}, 2)
    # 3: segment leaf i — another segment's root, a short proof
    bad({seg_root: trace.seg_root(SEG - 1)}, 3)
    bad({p_seg: trace.segments.proof(SEG - 1)[:-1]}, 3)
    # 4, 5: step leaves 0 and K of segRoot must carry the checkpoints' stateHashes
    bad({p_step0: steps.proof(1)}, 4)
    bad({p_step_k: steps.proof(K - 1)}, 5)
    bad({p_step0: steps.proof(K), p_step_k: steps.proof(0)}, 4)
    bad({h_start: trace.hashes[(SEG - 1) * K + 1], p_start: trace.checkpoints.proof(SEG - 1)}, 1)

    # none of that cost the solver the game: a valid opening within its clock moves on
    world.send(game.openSegment(*good), solver)
    dispute = game.getDispute(dispute_id).call()
    assert dispute[PHASE] == PROPOSE
    fails(game.openSegment(*good), solver, "DisputeGameWrongPhase", dispute_id, PROPOSE)
    expected = Changes()
    expected.locked[challenger] += BOND + CHALLENGE_FEE  # bond and fee, until the dispute ends
    ledger.assert_changes(expected)


@pytest.mark.parametrize(("step", "what"), [(0, 4), (K, 5)], ids=["step0", "stepK"])
def test_step_tree_contradicting_the_checkpoints_cannot_open_and_loses(
    game_world: World, step: int, what: int
) -> None:
    """docs/SECURITY.md: per-step hashes inconsistent with the checkpoint leaves. The solver committed
    a segment root whose step ``step`` is not the checkpoint's stateHash."""
    world = game_world
    assert world.game is not None
    game = world.game.functions
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver, challenger = world.accounts[1], world.accounts[2], verifiers[0]
    job_id, _ = world.post(submitter)
    world.stake(solver, int(world.market.functions.solverLockOf(job_id).call()))
    world.send(world.market.functions.claimJob(job_id), solver)
    trace = tamper_steps(
        FullTrace.make(job_id, 0, N, K), SEG, {step: Web3.keccak(text="not the checkpoint")}
    )
    world.send(world.market.functions.commitTrace(*trace.commit_args()), solver)
    ledger = Ledger.take(world)
    dispute_id, _ = challenge(world, challenger, job_id, SEG)
    observe = _observer(world, job_id, dispute_id)

    # the honest-looking opening fails on the inconsistent step leaf; so does any other
    send_failing(
        world,
        game.openSegment(*trace.open_args(dispute_id, SEG)),
        solver,
        "DisputeGameBadOpening",
        dispute_id,
        what,
        observe=observe,
    )
    deadline = game.getDispute(dispute_id).call()[LAST_MOVE_AT] + MOVE_CLOCK
    world.mine_at(deadline)
    world.expect_revert(
        game.timeout(dispute_id), world.accounts[3], "DisputeGameClockRunning", dispute_id, deadline
    )
    world.mine_at(deadline + 1)
    send_failing(
        world,
        game.openSegment(*trace.open_args(dispute_id, SEG)),
        solver,
        "DisputeGameOutOfTime",
        dispute_id,
        deadline,
        observe=observe,
    )
    receipt = world.send(game.timeout(dispute_id), world.accounts[3])  # anyone may call it
    assert ("DisputeTimedOut", {"disputeId": dispute_id, "party": solver}) in world.logs(receipt)
    expected = Changes()
    solver_lost(expected, solver=solver, winner=challenger, submitter=submitter)  # no jury fees
    ledger.assert_changes(expected)
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.OPEN, 1, 0)


def test_a_wrong_initial_state_is_caught(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    game = world.game.functions
    job_id, trace, submitter, solver, challenger, dispute_id, ledger = _challenged(
        world, 0, wrong_from=0
    )
    dispute = game.getDispute(dispute_id).call()
    assert (dispute[KIND], dispute[PHASE]) == (INITIAL_STATE, OPENING)
    observe = _observer(world, job_id, dispute_id)
    state0, proof0 = trace.hashes[0], trace.checkpoints.proof(0)
    for fn, error, args in [
        (
            game.openSegment(*trace.open_args(dispute_id, 1)),
            "DisputeGameWrongKind",
            (dispute_id, INITIAL_STATE),
        ),
        (
            game.openInitialState(dispute_id, trace.commitment, trace.hashes[K], proof0),
            "DisputeGameBadOpening",
            (dispute_id, 6),
        ),
        (
            game.openInitialState(dispute_id, trace.commitment, state0, proof0[:-1]),
            "DisputeGameBadOpening",
            (dispute_id, 6),
        ),
        (
            game.openInitialState(dispute_id, [b"\x01" * 32] * 4, state0, proof0),
            "DisputeGameCommitmentMismatch",
            (job_id,),
        ),
    ]:
        send_failing(world, fn, solver, error, *args, observe=observe)
    send_failing(
        world,
        game.openInitialState(dispute_id, trace.commitment, state0, proof0),
        challenger,
        "DisputeGameNotYourMove",
        dispute_id,
        challenger,
        observe=observe,
    )

    receipt = world.send(
        game.openInitialState(dispute_id, trace.commitment, state0, proof0), solver
    )
    events = [(n, a) for n, a in world.logs(receipt) if n in ("InitialStateOpened", "StepPinned")]
    assert events == [
        ("InitialStateOpened", {"disputeId": dispute_id, "stateHash0": state0}),
        (
            "StepPinned",
            {"disputeId": dispute_id, "step": 0, "hashBefore": b"\x00" * 32, "hashAfter": state0},
        ),
    ]
    assert game.getDispute(dispute_id).call()[PHASE] == JURY
    # the jurors derive state 0 from the spec: it is not the solver's
    digests: dict[str, bytes | None] = {solver: LIE, challenger: HONEST}
    digests |= {f"juror{k}": HONEST for k in range(3)}
    verdict = jury_round(world, dispute_id, digests)
    assert verdict.resolve is not None
    assert "AttestersSlashed" not in [n for n, _ in world.logs(verdict.resolve)]
    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors))], slash=JUROR_SLASH)
    solver_lost(expected, solver=solver, winner=challenger, submitter=submitter, fees=fees)
    ledger.assert_changes(expected)
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.OPEN, 1, 0)


def test_an_honest_initial_state_is_upheld(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    game = world.game.functions
    job_id, trace, _, solver, challenger, dispute_id, ledger = _challenged(world, 0)
    deadline = world.job(job_id).deadline
    world.send(
        game.openInitialState(
            dispute_id, trace.commitment, trace.hashes[0], trace.checkpoints.proof(0)
        ),
        solver,
    )
    digests: dict[str, bytes | None] = {solver: HONEST, challenger: LIE}
    digests |= {f"juror{k}": HONEST for k in range(2)}
    digests["juror2"] = LIE
    verdict = jury_round(world, dispute_id, digests)
    assert verdict.resolve is not None
    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors[:2]))], slash=JUROR_SLASH)
    challenger_lost(expected, challenger=challenger, solver=solver, fees=fees)
    ledger.assert_changes(expected)
    opened = game.getDispute(dispute_id).call()[17]
    resolved = world.w3.eth.get_block(verdict.resolve["blockNumber"])["timestamp"]
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.COMMITTED, 0, 0)
    assert job.deadline == deadline + (resolved - opened)
