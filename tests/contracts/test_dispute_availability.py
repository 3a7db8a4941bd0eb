"""Availability claims (docs/PROTOCOL.md §6, DISPUTES.md): on a checkpoint, the manifest or the final model by
a staked verifier or the submitter while challenges are allowed; on the dataset by the job's solver
while it is Claimed and before its solve deadline. Each goes straight to the jury: an answered
claim costs the claimant its bond, an unanswered one costs the respondent (§7). Exact balances of
every party and the solvency invariant after every transaction."""

from __future__ import annotations

from typing import Any

import pytest
from chain_dispute_kit import JURY, OUTCOME, PHASE, RESOLVED, commit_full, register_verifiers
from dispute_paths_kit import (
    AVAILABILITY,
    BOND,
    CHECKPOINT,
    DATASET,
    FEE,
    FINAL_MODEL,
    KIND,
    LOCK,
    MANIFEST,
    OPENED_AT,
    TARGET,
    VERIFIER_STAKE,
    Changes,
    Ledger,
    challenger_lost,
    jurors_settled,
    jury_round,
    send_failing,
    solver_lost,
)
from protocol_kit import (
    JUROR_SLASH,
    JURY_COMMIT_PHASE,
    JURY_REVEAL_PHASE,
    REVEAL_PHASE,
    SEED_DELAY,
    JobStatus,
)
from protocol_world import Trace, World, claimed_job
from web3 import Web3

pytestmark = pytest.mark.chain

N = 8
BLOB_DIGEST = Web3.keccak(text="BLAKE3(r || blob)")
UNAVAILABLE = b"\x00" * 32
VOID = 3  # IDisputeGame.Outcome.Void
# every target, each claimant kind (a staked verifier, the submitter) for each outcome
ANSWERED = [(CHECKPOINT, 3, False), (MANIFEST, 0, True), (FINAL_MODEL, 0, False)]
ANSWERED_IDS = ["checkpoint-by-verifier", "manifest-by-submitter", "final-model-by-verifier"]
UNANSWERED = [(CHECKPOINT, N, True), (MANIFEST, 0, False), (FINAL_MODEL, 0, True)]
UNANSWERED_IDS = ["checkpoint-by-submitter", "manifest-by-verifier", "final-model-by-submitter"]


def _claim(world: World, job_id: int, target: int, index: int, claimant: str) -> int:
    assert world.game is not None
    receipt = world.send(
        world.game.functions.openAvailabilityClaim(job_id, target, index), claimant
    )
    dispute_id = int(world.game.functions.disputeCount().call())
    names = [n for n, _ in world.logs(receipt)]
    assert "DisputeOpened" in names and "StepPinned" in names  # straight to the jury
    dispute = world.game.functions.getDispute(dispute_id).call()
    assert (dispute[KIND], dispute[TARGET], dispute[PHASE]) == (AVAILABILITY, target, JURY)
    assert world.job(job_id).open_disputes == 1
    return dispute_id


def _committed(world: World) -> tuple[int, str, str, list[str]]:
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, _ = commit_full(world, submitter, solver, {})
    return job_id, submitter, solver, verifiers


def _trace_args(world: World, job_id: int) -> tuple[Any, ...]:
    return Trace.make(job_id, world.job(job_id).attempt, N).args(job_id)


def test_who_may_claim_and_when(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    claim = world.game.functions.openAvailabilityClaim
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver, stranger, verifier = (
        world.accounts[1],
        world.accounts[2],
        world.accounts[3],
        verifiers[0],
    )
    world.stake(stranger, BOND)  # staked, but not a registered verifier
    job_id = claimed_job(world, submitter, solver)
    observe = lambda: (world.job(job_id), world.game.functions.disputeCount().call())  # noqa: E731

    def fails(fn: Any, sender: str, error: str, *args: Any) -> None:
        send_failing(world, fn, sender, error, *args, observe=observe)

    # nothing to claim about before the commit
    fails(claim(job_id, CHECKPOINT, 0), verifier, "DisputeGameNotChallengeable", job_id)
    world.send(world.market.functions.commitTrace(*_trace_args(world, job_id)), solver)
    for who in (stranger, solver):  # neither a verifier nor the submitter
        fails(claim(job_id, MANIFEST, 0), who, "DisputeGameNotChallengeable", job_id)
    # indexes: a checkpoint 0..N, the manifest and the final model only 0, no target None
    fails(claim(job_id, CHECKPOINT, N + 1), verifier, "DisputeGameBadIndex", job_id, N + 1)
    fails(claim(job_id, MANIFEST, 1), verifier, "DisputeGameBadIndex", job_id, 1)
    fails(claim(job_id, FINAL_MODEL, N), verifier, "DisputeGameBadIndex", job_id, N)
    fails(claim(job_id, 0, 0), verifier, "DisputeGameBadIndex", job_id, 0)
    # the dataset is the solver's claim, and only while Claimed
    fails(claim(job_id, DATASET, 0), solver, "DisputeGameNotChallengeable", job_id)
    # the submitter may claim, but needs free stake for the bond
    fails(
        claim(job_id, MANIFEST, 0),
        submitter,
        "StakeRegistryInsufficientFreeStake",
        submitter,
        0,
        BOND,
    )
    # allowed up to the last second of the reveal phase, not after
    last = world.job(job_id).deadline + REVEAL_PHASE
    world.stake(submitter, BOND)
    world.set_next_timestamp(last)
    _claim(world, job_id, CHECKPOINT, N, submitter)
    world.mine_at(last + 1)
    fails(claim(job_id, CHECKPOINT, 0), verifier, "DisputeGameNotChallengeable", job_id)
    fails(claim(job_id, FINAL_MODEL, 0), submitter, "DisputeGameNotChallengeable", job_id)


@pytest.mark.parametrize(("target", "index", "by_submitter"), ANSWERED, ids=ANSWERED_IDS)
def test_an_answered_claim_costs_the_claimant_its_bond(
    game_world: World, target: int, index: int, by_submitter: bool
) -> None:
    world = game_world
    job_id, submitter, solver, verifiers = _committed(world)
    claimant = submitter if by_submitter else verifiers[0]
    if by_submitter:
        world.stake(submitter, BOND)
    deadline = world.job(job_id).deadline
    ledger = Ledger.take(world)
    dispute_id = _claim(world, job_id, target, index, claimant)
    # the solver serves the blob: it and the jurors reveal its salted digest
    digests: dict[str, bytes | None] = {solver: BLOB_DIGEST, claimant: UNAVAILABLE}
    digests |= {f"juror{k}": BLOB_DIGEST for k in range(3)}
    verdict = jury_round(world, dispute_id, digests)
    assert verdict.resolve is not None
    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors))], slash=JUROR_SLASH)
    assert fees == 3 * FEE
    challenger_lost(expected, challenger=claimant, solver=solver, fees=fees, fee=0)
    ledger.assert_changes(expected)
    assert world.game is not None
    opened = world.game.functions.getDispute(dispute_id).call()[OPENED_AT]
    resolved = world.w3.eth.get_block(verdict.resolve["blockNumber"])["timestamp"]
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.COMMITTED, 0, 0)
    assert job.deadline == deadline + (resolved - opened)


@pytest.mark.parametrize(("target", "index", "by_submitter"), UNANSWERED, ids=UNANSWERED_IDS)
def test_an_unanswered_claim_costs_the_solver_its_lock(
    game_world: World, target: int, index: int, by_submitter: bool
) -> None:
    world = game_world
    job_id, submitter, solver, verifiers = _committed(world)
    claimant = submitter if by_submitter else verifiers[0]
    if by_submitter:
        world.stake(submitter, BOND)
    ledger = Ledger.take(world)
    dispute_id = _claim(world, job_id, target, index, claimant)
    # the solver never answers; two jurors find the blob unavailable, one does not vote
    digests: dict[str, bytes | None] = {claimant: UNAVAILABLE, "juror0": UNAVAILABLE}
    digests["juror1"] = UNAVAILABLE
    verdict = jury_round(world, dispute_id, digests)
    assert verdict.resolve is not None
    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors[:2]))], slash=JUROR_SLASH)
    # issue 11: no jackpot for an availability claim (a sybil of the cheater could claim it)
    solver_lost(expected, solver=solver, winner=None, submitter=submitter, fees=fees)
    ledger.assert_changes(expected)
    assert "AttestersSlashed" not in [n for n, _ in world.logs(verdict.resolve)]
    job = world.job(job_id)
    assert (job.status, job.attempt, job.open_disputes) == (JobStatus.OPEN, 1, 0)


# --- dataset claims ---


def _dataset_job(world: World) -> tuple[int, str, str, list[str]]:
    """A claimed job whose solver staked its lock and one bond more."""
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, _ = world.post(submitter)
    world.stake(solver, LOCK + BOND)
    world.send(world.market.functions.claimJob(job_id), solver)
    return job_id, submitter, solver, verifiers


def test_dataset_claim_rules(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    claim = world.game.functions.openAvailabilityClaim
    job_id, submitter, solver, verifiers = _dataset_job(world)
    world.stake(submitter, BOND)
    observe = lambda: (world.job(job_id), world.game.functions.disputeCount().call())  # noqa: E731

    def fails(fn: Any, sender: str, error: str, *args: Any) -> None:
        send_failing(world, fn, sender, error, *args, observe=observe)

    for who in (verifiers[0], submitter):  # only the job's solver
        fails(claim(job_id, DATASET, 0), who, "DisputeGameNotChallengeable", job_id)
    fails(claim(job_id, DATASET, 1), solver, "DisputeGameBadIndex", job_id, 1)
    deadline = world.job(job_id).deadline
    world.mine_at(deadline + 1)
    fails(claim(job_id, DATASET, 0), solver, "DisputeGameNotChallengeable", job_id)


def test_an_upheld_dataset_claim_aborts_without_slash_and_the_submitter_pays_the_jury(
    game_world: World,
) -> None:
    world = game_world
    assert world.game is not None
    market = world.market.functions
    job_id, submitter, solver, _ = _dataset_job(world)
    job = world.job(job_id)
    ledger = Ledger.take(world)
    world.set_next_timestamp(job.deadline)  # the last second still counts
    dispute_id = _claim(world, job_id, DATASET, 0, solver)
    dispute = world.game.functions.getDispute(dispute_id).call()
    assert (dispute[9], dispute[11]) == (solver, submitter)  # claimant solver, respondent submitter
    # the job is frozen: no commit, no solve-timeout reclaim while the claim is open
    world.mine_at(job.deadline + 1)
    world.expect_revert(market.reclaimTimedOut(job_id), submitter, "JobMarketFrozen", job_id, 1)
    # the submitter does not serve the dataset
    digests: dict[str, bytes | None] = {solver: UNAVAILABLE}
    digests |= {f"juror{k}": UNAVAILABLE for k in range(3)}
    verdict = jury_round(world, dispute_id, digests)
    assert verdict.resolve is not None
    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors))], slash=JUROR_SLASH)
    expected.locked[solver] -= LOCK  # released, nothing slashed; the bond unlocked too
    ledger.assert_changes(expected)
    after = world.job(job_id)
    assert (after.status, after.attempt, after.open_disputes) == (JobStatus.OPEN, 1, 0)
    # the jury fees came out of the submitter's escrow (verifier fee first)
    assert (after.reward, after.verifier_fee) == (job.reward, job.verifier_fee - fees)
    assert world.balance(world.market.address) == job.reward + job.verifier_fee


def test_a_rejected_dataset_claim_costs_the_solver_its_bond(game_world: World) -> None:
    world = game_world
    assert world.game is not None
    market = world.market.functions
    job_id, submitter, solver, _ = _dataset_job(world)
    deadline = world.job(job_id).deadline
    ledger = Ledger.take(world)
    dispute_id = _claim(world, job_id, DATASET, 0, solver)
    world.expect_revert(
        market.commitTrace(*_trace_args(world, job_id)), solver, "JobMarketFrozen", job_id, 1
    )
    digests: dict[str, bytes | None] = {submitter: BLOB_DIGEST, solver: UNAVAILABLE}
    digests |= {f"juror{k}": BLOB_DIGEST for k in range(2)}
    verdict = jury_round(world, dispute_id, digests)  # juror2 does not vote
    assert verdict.resolve is not None
    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors[:2]))], slash=JUROR_SLASH)
    challenger_lost(expected, challenger=solver, solver=submitter, fees=fees, fee=0)
    ledger.assert_changes(expected)
    opened = world.game.functions.getDispute(dispute_id).call()[OPENED_AT]
    resolved = world.w3.eth.get_block(verdict.resolve["blockNumber"])["timestamp"]
    job = world.job(job_id)
    assert (job.status, job.open_disputes) == (JobStatus.CLAIMED, 0)
    assert job.deadline == deadline + (resolved - opened)  # the solve deadline was frozen
    # one claim per attempt: claiming again cannot hold the job frozen round after round
    world.expect_revert(
        world.game.functions.openAvailabilityClaim(job_id, DATASET, 0),
        solver,
        "DisputeGameDatasetClaimed",
        job_id,
        0,
    )
    world.send(market.commitTrace(*_trace_args(world, job_id)), solver)


def test_a_dataset_claim_no_jury_can_hear_ends_void_and_the_job_still_times_out(
    game_world: World,
) -> None:
    """Two eligible jurors (fewer than minJurors = 3; the solver and submitter are never drawn): the
    panel waits, then past its draw deadline the claim ends Void. Nothing is paid or slashed for it,
    the solve deadline moves by exactly the frozen time, and the job still ends by timeouts."""
    world = game_world
    assert world.game is not None
    market = world.market.functions
    register_verifiers(world, VERIFIER_STAKE, (4, 5))
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, _ = world.post(submitter)
    world.stake(solver, LOCK + BOND)
    world.send(market.claimJob(job_id), solver)
    job = world.job(job_id)
    ledger = Ledger.take(world)
    dispute_id = _claim(world, job_id, DATASET, 0, solver)
    opened = world.game.functions.getDispute(dispute_id).call()[OPENED_AT]
    world.mine(SEED_DELAY)
    waiting = world.send(world.jury.functions.recordSeed(dispute_id), world.owner)
    ((name, args),) = world.logs(waiting)
    assert (name, args["seatable"]) == ("JuryWaiting", 1)  # 2 eligible: one (odd) could sit
    world.mine(SEED_DELAY + 1)
    voided_at = max(world.now() + 1, opened + JURY_COMMIT_PHASE + JURY_REVEAL_PHASE + 1)
    world.set_next_timestamp(voided_at)
    receipt = world.send(world.jury.functions.recordSeed(dispute_id), world.owner)
    names = [n for n, _ in world.logs(receipt)]
    assert names[0] == "JuryNotSeated" and "JobUnfrozen" in names
    dispute = world.game.functions.getDispute(dispute_id).call()
    assert (dispute[PHASE], dispute[OUTCOME]) == (RESOLVED, VOID)
    ledger.assert_changes(Changes())  # the bond is unlocked, the solver's lock still held
    extended = world.job(job_id)
    assert (extended.status, extended.open_disputes) == (JobStatus.CLAIMED, 0)
    assert extended.deadline == job.deadline + (voided_at - opened)  # the frozen time, no more

    # the solve timeout still ends the attempt: not at the new deadline, one second after it
    world.mine_at(extended.deadline)
    world.expect_revert(
        market.reclaimTimedOut(job_id),
        submitter,
        "JobMarketSolveDeadlineNotReached",
        job_id,
        extended.deadline,
    )
    world.set_next_timestamp(extended.deadline + 1)
    world.send(market.reclaimTimedOut(job_id), submitter)
    world.send(market.cancelJob(job_id), submitter)
    expected = Changes()
    burned = LOCK * 1_000 // 10_000  # SOLVE_TIMEOUT_SLASH_BPS of the lock
    expected.slash(solver, burned)
    expected.locked[solver] -= LOCK
    expected.burned = burned
    expected.credit[submitter] += job.reward + job.verifier_fee  # the whole escrow back
    ledger.assert_changes(expected)
    assert world.job(job_id).status == JobStatus.CANCELLED
