"""Jury re-draws (docs/PROTOCOL.md §6): a tie or a zero-reveal quorum draws a new panel of 2M+1 jurors from a
new seed; a second tie makes the solver lose; a majority in the re-draw decides. Exact balances of
every party and the solvency invariant after every transaction."""

from __future__ import annotations

import pytest
from chain_dispute_kit import JURY, PHASE
from chain_dispute_kit import register_verifiers as register
from dispute_paths_kit import (
    FEE,
    OPENED_AT,
    P_PHASE,
    P_ROUND,
    SEED_PHASE,
    VERIFIER_STAKE,
    Changes,
    Ledger,
    challenger_lost,
    expected_jurors,
    jurors_settled,
    jury_round,
    pin_segment_dispute,
    solver_lost,
)
from protocol_kit import JUROR_SLASH, JUROR_STAKE, JURY_SIZE, SEED_DELAY, JobStatus
from protocol_world import World
from web3 import Web3
from web3.types import TxReceipt

pytestmark = pytest.mark.chain

VERIFIERS = tuple(range(4, 14))  # ten: enough for a re-drawn panel of 7 beside the parties
SOLVER_DIGEST = Web3.keccak(text="the solver's salted digest")
OTHER_DIGEST = Web3.keccak(text="the challenger's salted digest")


def _pinned(world: World, *, fraud: bool) -> tuple[int, int, str, str, str, Ledger]:
    """Ten verifiers; the first challenges segment 2 of a job and the dispute is bisected to one
    step. Returns job, dispute, submitter, solver, challenger, ledger (taken before the challenge)."""
    verifiers = register(world, VERIFIER_STAKE, VERIFIERS)
    p = pin_segment_dispute(world, verifiers[0], fraud=fraud)
    return p.job_id, p.dispute_id, p.submitter, p.solver, p.challenger, p.ledger


def _tie_event(world: World, receipt: TxReceipt) -> dict[str, int]:
    logs = [args for name, args in world.logs(receipt) if name == "JuryTied"]
    assert len(logs) == 1
    return logs[0]


def test_two_ties_make_the_solver_lose(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    job_id, dispute_id, submitter, solver, challenger, ledger = _pinned(world, fraud=True)
    pinned_at = world.w3.eth.block_number

    # round 0: one juror with the solver, one against, one silent → 1 of 2: a tie
    first = jury_round(
        world,
        dispute_id,
        {
            solver: SOLVER_DIGEST,
            challenger: OTHER_DIGEST,
            "juror0": SOLVER_DIGEST,
            "juror1": OTHER_DIGEST,
        },
    )
    assert first.resolve is not None and len(first.jurors) == JURY_SIZE
    assert first.jurors == expected_jurors(
        world, dispute_id, 0, JURY_SIZE, pinned_at + SEED_DELAY, pinned_at
    )
    tie = _tie_event(world, first.resolve)
    assert (tie["round"], tie["nextSize"]) == (0, 2 * JURY_SIZE + 1)
    assert tie["seedBlock"] == first.resolve["blockNumber"] + SEED_DELAY  # a new, unknown seed
    panel = world.jury.functions.panelOf(dispute_id).call()
    assert (panel[P_PHASE], panel[P_ROUND]) == (SEED_PHASE, 1)
    assert world.game.functions.getDispute(dispute_id).call()[PHASE] == JURY  # nothing paid yet
    for juror in first.jurors:  # round-0 stakes stay locked until the verdict
        assert world.stake_info(juror)[1] >= JUROR_STAKE

    # round 1: 7 jurors (parties excluded), three with the solver, three against, one silent
    digests: dict[str, bytes | None] = {solver: SOLVER_DIGEST, challenger: OTHER_DIGEST}
    digests |= {f"juror{k}": SOLVER_DIGEST for k in range(3)}
    digests |= {f"juror{k}": OTHER_DIGEST for k in range(3, 6)}
    second = jury_round(world, dispute_id, digests)
    assert second.number == 1 and len(second.jurors) == 2 * JURY_SIZE + 1
    assert solver not in second.jurors and challenger not in second.jurors
    assert second.jurors == expected_jurors(
        world,
        dispute_id,
        1,
        2 * JURY_SIZE + 1,
        tie["seedBlock"],
        first.resolve["blockNumber"],
    )
    assert second.resolve is not None
    names = [name for name, _ in world.logs(second.resolve)]
    assert "JuryTied" not in names and "JuryDecided" in names

    # the burden of proof is on the solver: it loses its whole lock. A tie has no minority, so
    # every juror who revealed, in either round, is paid; only the silent ones are slashed.
    expected = Changes()
    fees = jurors_settled(
        expected,
        [
            (first.jurors, set(first.jurors[:2])),
            (second.jurors, set(second.jurors[:6])),
        ],
        slash=JUROR_SLASH,
    )
    assert fees == 8 * FEE
    solver_lost(expected, solver=solver, winner=challenger, submitter=submitter, fees=fees)
    ledger.assert_changes(expected)
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.OPEN, 1, 0)


def test_a_zero_reveal_quorum_is_redrawn_and_the_majority_decides(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    job_id, dispute_id, _, solver, challenger, ledger = _pinned(world, fraud=False)
    deadline = world.job(job_id).deadline

    # round 0: both parties reveal, no juror does → no quorum: re-draw
    first = jury_round(world, dispute_id, {solver: SOLVER_DIGEST, challenger: OTHER_DIGEST})
    assert first.resolve is not None
    tie = _tie_event(world, first.resolve)
    assert (tie["round"], tie["nextSize"]) == (0, 2 * JURY_SIZE + 1)

    # round 1: five of seven with the solver → the challenger was wrong
    digests: dict[str, bytes | None] = {solver: SOLVER_DIGEST, challenger: OTHER_DIGEST}
    digests |= {f"juror{k}": SOLVER_DIGEST for k in range(5)}
    digests |= {f"juror{k}": OTHER_DIGEST for k in range(5, 7)}
    second = jury_round(world, dispute_id, digests)
    assert second.resolve is not None and len(second.jurors) == 2 * JURY_SIZE + 1

    expected = Changes()
    fees = jurors_settled(
        expected,
        [(first.jurors, set()), (second.jurors, set(second.jurors[:5]))],
        slash=JUROR_SLASH,
    )
    assert fees == 5 * FEE
    challenger_lost(expected, challenger=challenger, solver=solver, fees=fees)
    ledger.assert_changes(expected)
    # the job resumes; its window is extended by the dispute's whole duration
    opened = world.game.functions.getDispute(dispute_id).call()[OPENED_AT]
    resolved = world.w3.eth.get_block(second.resolve["blockNumber"])["timestamp"]
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.COMMITTED, 0, 0)
    assert job.deadline == deadline + (resolved - opened)


@pytest.mark.parametrize(
    ("juror_digests", "paid"),
    [
        ((OTHER_DIGEST, OTHER_DIGEST, OTHER_DIGEST), {0, 1, 2}),
        ((OTHER_DIGEST, OTHER_DIGEST, SOLVER_DIGEST), {0, 1}),
    ],
    ids=["unanimous", "split"],
)
def test_a_silent_challenger_costs_the_challenger_never_the_jurors(
    game_world: World, juror_digests: tuple[bytes, ...], paid: set[int]
) -> None:
    """The challenger commits no vote, so it loses its bond; the jurors are judged by their own
    revealed majority (here: the solver's digest is wrong), not by that verdict."""
    world = game_world
    job_id, dispute_id, _, solver, challenger, ledger = _pinned(world, fraud=True)
    digests: dict[str, bytes | None] = {solver: SOLVER_DIGEST}
    digests |= {f"juror{k}": d for k, d in enumerate(juror_digests)}
    done = jury_round(world, dispute_id, digests)
    assert done.resolve is not None
    decided = [args for name, args in world.logs(done.resolve) if name == "JuryDecided"]
    assert decided == [{"disputeId": dispute_id, "solverWrong": False}]

    expected = Changes()
    good = {done.jurors[k] for k in paid}
    fees = jurors_settled(expected, [(done.jurors, good)], slash=JUROR_SLASH)
    assert fees == len(paid) * FEE
    challenger_lost(expected, challenger=challenger, solver=solver, fees=fees)
    ledger.assert_changes(expected)
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.COMMITTED, 0, 0)
