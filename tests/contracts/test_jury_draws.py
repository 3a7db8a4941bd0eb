"""Who sits on a jury (docs/PROTOCOL.md §6, DISPUTES.md "Jury"): a drawn juror sits only when its free stake
covers the whole juror stake (else it is skipped and the draw goes on); the submitter, solver and challenger of the job never sit;
a panel with fewer than `minJurors` seatable jurors waits for a later draw, and a dispute that finds
no jury in time is void (nobody loses anything, the job runs on). Exact balances of every party and
the solvency invariant after every transaction."""

from __future__ import annotations

import pytest
from chain_dispute_kit import register_verifiers as register
from dispute_paths_kit import (
    FEE,
    P_PHASE,
    P_ROUND,
    P_SEED_BLOCK,
    P_SNAPSHOT,
    SEED_PHASE,
    VERIFIER_STAKE,
    Changes,
    Pinned,
    jurors_settled,
    jury_round,
    pin_segment_dispute,
    solver_lost,
)
from protocol_kit import (
    ETHER,
    JUROR_SLASH,
    JUROR_STAKE,
    JURY_COMMIT_PHASE,
    JURY_REVEAL_PHASE,
    JURY_SIZE,
    MAX_WINDOW_EXTENSION,
    SEED_DELAY,
    JobStatus,
)
from protocol_world import World
from web3 import Web3

pytestmark = pytest.mark.chain

TRUE_DIGEST = Web3.keccak(text="the true salted digest")
LIE_DIGEST = Web3.keccak(text="the solver's salted digest")
WHALE = 10_000 * ETHER
VOID = 3  # IDisputeGame.Outcome.Void
D_OUTCOME = 6
D_OPENED_AT = 17


def _lock_everything(world: World, account: str) -> None:
    """``account`` claims a job whose solver lock (2 x reward) is all of its free stake."""
    free = int(world.registry.functions.freeStakeOf(account).call())
    job_id, _ = world.post(world.accounts[15], reward=free // 2)
    world.send(world.market.functions.claimJob(job_id), account)
    assert world.registry.functions.freeStakeOf(account).call() == 0


def _draw(world: World, dispute_id: int) -> list[str]:
    """Record the draw seed of the pending round; return the seated jurors."""
    world.mine(SEED_DELAY)
    world.send(world.jury.functions.recordSeed(dispute_id), world.owner)
    round_ = int(world.jury.functions.panelOf(dispute_id).call()[P_ROUND])
    return [str(a) for a in world.jury.functions.jurorsOf(dispute_id, round_).call()]


def _assert_seated_with_full_stake(world: World, dispute_id: int, jurors: list[str]) -> None:
    for juror in jurors:
        vote = world.jury.functions.voteOf(dispute_id, 0, juror).call()
        assert (vote[3], vote[4]) == (True, JUROR_STAKE), juror
        assert world.stake_info(juror)[1] == JUROR_STAKE, juror


def _fraud_round(
    world: World, p: Pinned, jurors: list[str], expected: Changes | None = None
) -> None:
    """Both parties and the first two jurors reveal; the third juror stays silent. The solver
    cheated: it loses its lock, the silent juror loses exactly `jurorSlash` (beside ``expected``,
    the changes since the ledger that were not the jury's)."""
    votes: dict[str, bytes | None] = {p.solver: LIE_DIGEST, p.challenger: TRUE_DIGEST}
    votes |= {"juror0": TRUE_DIGEST, "juror1": TRUE_DIGEST}
    done = jury_round(world, p.dispute_id, votes)
    assert done.jurors == jurors and done.resolve is not None
    expected = expected or Changes()
    fees = jurors_settled(expected, [(jurors, set(jurors[:2]))], slash=JUROR_SLASH)
    assert fees == 2 * FEE
    solver_lost(expected, solver=p.solver, winner=p.challenger, submitter=p.submitter, fees=fees)
    p.ledger.assert_changes(expected)


def test_a_verifier_whose_stake_is_all_locked_never_sits(game_world: World) -> None:
    world = game_world
    honest = register(world, VERIFIER_STAKE, (4, 5, 6, 7, 8))
    busy = world.accounts[10]
    register(world, WHALE, (10,))
    _lock_everything(world, busy)  # before the snapshot: it holds most of the weight, nothing free
    p = pin_segment_dispute(world, honest[0], fraud=True)
    jurors = _draw(world, p.dispute_id)
    assert busy not in jurors
    assert len(jurors) == JURY_SIZE and set(jurors) <= set(honest[1:])
    _assert_seated_with_full_stake(world, p.dispute_id, jurors)
    _fraud_round(world, p, jurors)


def test_a_drawn_juror_that_cannot_lock_the_juror_stake_is_skipped(game_world: World) -> None:
    world = game_world
    honest = register(world, VERIFIER_STAKE, (4, 5, 6, 7, 8))
    busy = world.accounts[10]
    register(world, WHALE, (10,))
    p = pin_segment_dispute(world, honest[0], fraud=True)
    # at the snapshot `busy` holds almost all the weight; by the draw its stake is all locked
    _lock_everything(world, busy)
    jurors = _draw(world, p.dispute_id)
    assert busy not in jurors
    assert len(jurors) == JURY_SIZE and set(jurors) <= set(honest[1:])
    assert world.stake_info(busy)[1] == WHALE  # its solver lock only
    _assert_seated_with_full_stake(world, p.dispute_id, jurors)
    claimed = Changes()
    claimed.locked[busy] += WHALE
    _fraud_round(world, p, jurors, claimed)


def test_the_submitter_and_the_solver_of_the_job_are_never_drawn(game_world: World) -> None:
    world = game_world
    submitter, solver = world.accounts[1], world.accounts[2]
    register(world, WHALE, (1, 2))  # both parties are verifiers with most of the weight
    honest = register(world, VERIFIER_STAKE, (4, 5, 6, 7))
    p = pin_segment_dispute(world, honest[0], fraud=True)
    assert (p.submitter, p.solver) == (submitter, solver)
    jurors = _draw(world, p.dispute_id)
    assert submitter not in jurors and solver not in jurors
    assert sorted(jurors) == sorted(honest[1:])
    _assert_seated_with_full_stake(world, p.dispute_id, jurors)
    _fraud_round(world, p, jurors)


def test_a_thin_network_waits_until_enough_jurors_can_sit(game_world: World) -> None:
    world = game_world
    honest = register(world, VERIFIER_STAKE, (4, 5))  # one eligible juror beside the challenger
    p = pin_segment_dispute(world, honest[0], fraud=True)
    assert _draw(world, p.dispute_id) == []  # one juror would decide alone: nobody sits
    waited = world.w3.eth.block_number
    panel = world.jury.functions.panelOf(p.dispute_id).call()
    assert (panel[P_PHASE], panel[P_ROUND]) == (SEED_PHASE, 0)
    assert (panel[P_SEED_BLOCK], panel[P_SNAPSHOT]) == (waited + SEED_DELAY, waited)
    assert world.stake_info(honest[1])[1] == 0
    # two more verifiers join after the failed draw. The retry still reads the snapshot it was
    # scheduled with (before they joined) and waits again; the one after that seats three.
    late = register(world, VERIFIER_STAKE, (6, 7))
    assert _draw(world, p.dispute_id) == []
    jurors = _draw(world, p.dispute_id)
    assert sorted(jurors) == sorted([honest[1], *late])
    _assert_seated_with_full_stake(world, p.dispute_id, jurors)
    joined = Changes()
    for account in late:
        joined.staked[account] += VERIFIER_STAKE
    _fraud_round(world, p, jurors, joined)


@pytest.mark.parametrize("eligible", [0, 1])
def test_a_dispute_that_finds_no_jury_in_time_is_void(game_world: World, eligible: int) -> None:
    world = game_world
    assert world.game is not None
    honest = register(world, VERIFIER_STAKE, tuple(range(4, 5 + eligible)))
    p = pin_segment_dispute(world, honest[0], fraud=True)
    deadline = world.job(p.job_id).deadline
    assert _draw(world, p.dispute_id) == []
    assert world.game.functions.getDispute(p.dispute_id).call()[D_OUTCOME] == 0  # still open
    world.advance(JURY_COMMIT_PHASE + JURY_REVEAL_PHASE + 1)
    assert _draw(world, p.dispute_id) == []
    # void: the bond is unlocked, nobody is paid or slashed; like any closed dispute, the window
    # is extended by the time the job stayed frozen, within the attempt's cap
    dispute = world.game.functions.getDispute(p.dispute_id).call()
    assert dispute[D_OUTCOME] == VOID
    p.ledger.assert_changes(Changes())
    job = world.job(p.job_id)
    frozen = min(world.now() - dispute[D_OPENED_AT], MAX_WINDOW_EXTENSION)
    assert frozen > JURY_COMMIT_PHASE + JURY_REVEAL_PHASE
    assert (job.status, job.open_disputes, job.deadline) == (
        JobStatus.COMMITTED,
        0,
        deadline + frozen,
    )
    # timeouts alone end the job
    world.mine_at(max(world.now(), deadline) + 3_600)
    world.send(world.market.functions.finalizeJob(p.job_id), world.owner)
    assert world.job(p.job_id).status == JobStatus.FINALIZED
