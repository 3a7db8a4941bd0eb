"""A forged unit convicted by the real dispute game (bisection + jury), slashed and left out of its
round's mean; every party's balance exact (docs/ROUNDS.md, issue 13)."""

from __future__ import annotations

import pytest
from chain_dispute_kit import bisect, challenge, register_verifiers
from dispute_paths_kit import (
    VERIFIER_STAKE,
    Changes,
    Ledger,
    jurors_settled,
    jury_round,
    solver_lost,
)
from full_trace import FullTrace
from protocol_kit import JUROR_SLASH, JobStatus
from protocol_world import World
from rounds_kit import (
    CHECKPOINT_EVERY,
    INNER_STEPS,
    UNIT,
    claim,
    close,
    finalize,
    post_rounds,
    rounds_events,
    rounds_job,
    solve,
    units,
)
from web3 import Web3

pytestmark = pytest.mark.chain

TRUE_DIGEST = Web3.keccak(text="the true salted digest")
LIE_DIGEST = Web3.keccak(text="the cheater's salted digest")


def test_a_forged_unit_is_convicted_slashed_and_excluded(game_world: World) -> None:
    world = game_world
    submitter, solver, cheater = world.accounts[1], world.accounts[2], world.accounts[3]
    challenger = register_verifiers(world, VERIFIER_STAKE)[0]
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=1, quorum=1)
    honest_unit, forged_unit = units(world, rounds_id, 0)
    solve(world, honest_unit, solver)
    finalize(world, honest_unit)

    n = INNER_STEPS // CHECKPOINT_EVERY
    claim(world, forged_unit, cheater)
    forged = FullTrace.make(forged_unit, 0, n, CHECKPOINT_EVERY, wrong_from=6)
    truth = FullTrace.make(forged_unit, 0, n, CHECKPOINT_EVERY)
    world.send(world.market.functions.commitTrace(*forged.commit_args()), cheater)
    ledger = Ledger.take(world)
    assert world.game is not None
    dispute_id, _ = challenge(world, challenger, forged_unit, 2)
    world.send(world.game.functions.openSegment(*forged.open_args(dispute_id, 2)), cheater)
    bisect(world, dispute_id, cheater, challenger, forged, truth, 2)
    votes: dict[str, bytes | None] = {cheater: LIE_DIGEST, challenger: TRUE_DIGEST}
    votes |= {f"juror{k}": TRUE_DIGEST for k in range(3)}
    done = jury_round(world, dispute_id, votes)
    assert done.resolve is not None

    # the ordinary conviction of a job: the whole lock slashed, jackpot, submitter's share, jurors
    expected = Changes()
    fees = jurors_settled(expected, [(done.jurors, set(done.jurors))], slash=JUROR_SLASH)
    solver_lost(expected, solver=cheater, winner=challenger, submitter=submitter, fees=fees)
    ledger.assert_changes(expected)
    job = world.job(forged_unit)
    assert (job.status, job.attempt) == (JobStatus.OPEN, 1)  # reopened inside its round

    # nobody re-solves it by the deadline: the round closes on the honest unit alone
    world.mine_at(rounds_job(world, rounds_id).round_deadline + 1)
    credit = world.credit(submitter)
    assert rounds_events(close(world, rounds_id)) == [
        ("RoundClosed", {"roundsId": rounds_id, "round": 0, "includedMask": 0b01}),
        ("RoundsJobFinished", {"roundsId": rounds_id}),
    ]
    assert world.job(forged_unit).status == JobStatus.CANCELLED
    assert world.credit(submitter) == credit + UNIT  # the forged unit's escrow comes back
    assert world.credit(cheater) == 0
