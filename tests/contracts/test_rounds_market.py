"""RoundsMarket (docs/ROUNDS.md): escrow, round gates, units as JobMarket jobs, cancellation, payouts."""

from __future__ import annotations

import pytest
from chain_dispute_kit import (
    ATTESTATION_SALT,
    attestation_digest,
    draw_attesters,
    register_verifiers,
)
from full_trace import FullTrace
from protocol_kit import ETHER, MIN_SOLVER_STAKE, REVEAL_PHASE, JobStatus
from protocol_world import SPEC_HASH, Trace, World
from rounds_kit import (
    CHECKPOINT_EVERY,
    INNER_STEPS,
    ROUND_TIMEOUT,
    SAMPLE_RATE_BPS,
    SOLVE_TIMEOUT,
    UNIT,
    UNIT_FEE,
    UNIT_REWARD,
    Rounds,
    claim,
    close,
    finalize,
    post_args,
    post_rounds,
    rounds_events,
    rounds_job,
    solve,
    units,
)

pytestmark = pytest.mark.chain

ZERO_ADDRESS = "0x" + "00" * 20


def _withdraw_all(world: World, *accounts: str) -> None:
    """Pull every JobMarket credit of ``accounts`` (every payout and refund is one)."""
    for account in accounts:
        if world.credit(account):
            world.send(world.market.functions.withdraw(), account)


def test_post_escrows_exactly_and_opens_round_zero(
    world: World, submitter: str, solver: str
) -> None:
    before_liabilities = world.market.functions.totalLiabilities().call()
    rounds_id, receipt = post_rounds(world, submitter, workers=3, rounds=2, quorum=2)
    now = world.now()
    assert rounds_id == 1
    assert world.balance(submitter) == 0
    # the whole escrow is JobMarket's: round 0's units, and round 1's in the rounds reserve
    assert world.balance(world.rounds.address) == 0
    assert world.market.functions.roundsReserve().call() == 3 * UNIT
    assert world.market.functions.totalLiabilities().call() == before_liabilities + 6 * UNIT

    first = units(world, rounds_id, 0)[0]
    assert units(world, rounds_id, 0) == [first, first + 1, first + 2]
    assert rounds_events(world.logs(receipt)) == [
        (
            "RoundsJobPosted",
            {
                "roundsId": 1,
                "submitter": submitter,
                "specHash": SPEC_HASH,
                "workers": 3,
                "rounds": 2,
                "quorum": 2,
                "unitReward": UNIT_REWARD,
                "unitVerifierFee": UNIT_FEE,
            },
        ),
        (
            "RoundOpened",
            {"roundsId": 1, "round": 0, "firstJobId": first, "deadline": now + ROUND_TIMEOUT},
        ),
    ]
    posted = [args for name, args in world.logs(receipt) if name == "JobPosted"]
    assert [p["jobId"] for p in posted] == [first, first + 1, first + 2]
    assert {p["submitter"] for p in posted} == {submitter}
    for slot, job_id in enumerate(units(world, rounds_id, 0)):
        job = world.job(job_id)
        assert (job.submitter, job.reward, job.verifier_fee, job.spec_hash) == (
            submitter,
            UNIT_REWARD,
            UNIT_FEE,
            SPEC_HASH,
        )
        assert (job.num_segments, job.checkpoint_every, job.solve_timeout) == (
            INNER_STEPS // CHECKPOINT_EVERY,
            CHECKPOINT_EVERY,
            SOLVE_TIMEOUT,
        )
        assert (job.sample_rate_bps, job.status) == (SAMPLE_RATE_BPS, JobStatus.OPEN)
        assert world.rounds.functions.unitOf(job_id).call() == [1, 0, slot]
        assert world.market.functions.isUnit(job_id).call()
    assert world.rounds.functions.unitJob(1, 0, 3).call() == 0  # no slot 3
    assert world.rounds.functions.unitJob(1, 1, 0).call() == 0  # round 1 not opened
    assert world.rounds.functions.includedMask(1, 0).call() == 0
    job = rounds_job(world, rounds_id)
    assert (job.submitter, job.round, job.round_deadline, job.status) == (
        submitter,
        0,
        now + ROUND_TIMEOUT,
        Rounds.RUNNING,
    )

    claim(world, first + 1, solver)  # a unit is claimable like any job
    assert world.job(first + 1).status == JobStatus.CLAIMED


def test_post_rejects_bad_parameters(world: World, submitter: str) -> None:
    rounds = world.rounds.functions
    world.fund(submitter, 1_000 * ETHER)
    world.send(world.token.functions.approve(world.rounds.address, 1_000 * ETHER), submitter)
    cases = [
        (post_args(workers=0), "RoundsMarketInvalidWorkers", (0,)),
        (post_args(workers=65, quorum=1), "RoundsMarketInvalidWorkers", (65,)),
        (post_args(rounds=0), "RoundsMarketInvalidRounds", (0,)),
        (post_args(quorum=0), "RoundsMarketInvalidQuorum", (0, 3)),
        (post_args(quorum=4), "RoundsMarketInvalidQuorum", (4, 3)),
        (
            post_args(round_timeout=SOLVE_TIMEOUT + 179),
            "RoundsMarketRoundTimeoutTooShort",
            (SOLVE_TIMEOUT + 179, SOLVE_TIMEOUT + 180),
        ),
        (post_args(rounds=30), "RoundsMarketInsufficientAllowance", (1_000 * ETHER, 90 * UNIT)),
        # the units' own parameters are JobMarket's, checked by the same code as postJob
        (post_args(inner_steps=30), "JobMarketInvalidSteps", (30, CHECKPOINT_EVERY)),
        (post_args(unit_reward=0), "JobMarketZeroReward", ()),
    ]
    for args, error, error_args in cases:
        world.expect_revert(rounds.postRoundsJob(*args), submitter, error, *error_args)
    assert rounds.roundsJobCount().call() == 0


def test_all_final_closes_early_and_the_last_close_finishes_with_exact_payouts(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=2, quorum=2)
    round0 = units(world, rounds_id, 0)
    for job_id in round0:
        solve(world, job_id, solver)
    world.expect_revert(
        world.rounds.functions.closeRound(rounds_id),
        stranger,
        "RoundsMarketRoundNotDue",
        rounds_id,
        0,
        rounds_job(world, rounds_id).round_deadline,
    )
    finalize(world, *round0)
    logs = close(world, rounds_id)  # before the deadline: every unit is final
    round1 = [round0[1] + 1, round0[1] + 2]
    assert rounds_events(logs) == [
        ("RoundClosed", {"roundsId": rounds_id, "round": 0, "includedMask": 0b11}),
        (
            "RoundOpened",
            {
                "roundsId": rounds_id,
                "round": 1,
                "firstJobId": round1[0],
                "deadline": world.now() + ROUND_TIMEOUT,
            },
        ),
    ]
    assert units(world, rounds_id, 1) == round1
    assert world.rounds.functions.includedMask(rounds_id, 0).call() == 0b11
    assert world.rounds.functions.unitOf(round1[1]).call() == [rounds_id, 1, 1]
    assert world.market.functions.roundsReserve().call() == 0  # every round's escrow is posted

    for job_id in round1:
        solve(world, job_id, solver, tag="r1")
    finalize(world, *round1)
    assert rounds_events(close(world, rounds_id)) == [
        ("RoundClosed", {"roundsId": rounds_id, "round": 1, "includedMask": 0b11}),
        ("RoundsJobFinished", {"roundsId": rounds_id}),
    ]
    assert rounds_job(world, rounds_id).status == Rounds.FINISHED
    assert [world.rounds.functions.includedMask(rounds_id, r).call() for r in (0, 1, 2)] == [
        0b11,
        0b11,
        0,
    ]
    assert units(world, rounds_id, 0) == round0 and units(world, rounds_id, 1) == round1
    world.expect_revert(
        world.rounds.functions.closeRound(rounds_id),
        stranger,
        "RoundsMarketNotRunning",
        rounds_id,
        Rounds.FINISHED,
    )
    # every unit paid its reward to the solver; no attester revealed, so every fee goes back
    assert world.credit(solver) == 4 * UNIT_REWARD
    assert world.credit(submitter) == 4 * UNIT_FEE
    _withdraw_all(world, solver, submitter)
    assert world.balance(submitter) == 4 * UNIT_FEE
    assert world.balance(solver) == 4 * UNIT_REWARD
    assert world.stake_info(solver) == (4 * MIN_SOLVER_STAKE, 0, 0, 0)
    assert world.market.functions.roundsReserve().call() == 0


def test_deadline_with_quorum_cancels_open_units_and_leaves_in_flight_ones_out(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    rounds_id, _ = post_rounds(world, submitter, workers=3, rounds=2, quorum=1)
    final, in_flight, still_open = units(world, rounds_id, 0)
    solve(world, final, solver)
    finalize(world, final)
    deadline = rounds_job(world, rounds_id).round_deadline
    world.mine_at(deadline - 100)
    claim(world, in_flight, stranger)  # its solve deadline runs past the round's
    world.mine_at(deadline + 1)

    logs = close(world, rounds_id)
    assert ("JobCancelled", {"jobId": still_open}) in logs
    assert rounds_events(logs)[0] == (
        "RoundClosed",
        {"roundsId": rounds_id, "round": 0, "includedMask": 0b001},
    )
    assert world.job(still_open).status == JobStatus.CANCELLED
    assert world.job(in_flight).status == JobStatus.CLAIMED
    assert rounds_job(world, rounds_id).round == 1
    # the open unit's escrow and the final unit's unpaid fee are the submitter's
    assert world.credit(submitter) == UNIT + UNIT_FEE

    # the claimed unit runs on and is paid by JobMarket, but round 0 stays closed without it
    job = world.job(in_flight)
    trace = Trace.make(in_flight, job.attempt, job.num_segments, "late")
    world.send(world.market.functions.commitTrace(*trace.args(in_flight)), stranger)
    finalize(world, in_flight)
    assert world.credit(stranger) == UNIT_REWARD
    assert world.rounds.functions.includedMask(rounds_id, 0).call() == 0b001


def test_deadline_without_quorum_reopens_the_round(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=1, quorum=2)
    first, second = units(world, rounds_id, 0)
    solve(world, first, solver)
    finalize(world, first)
    deadline = rounds_job(world, rounds_id).round_deadline
    world.mine_at(deadline + 5)

    reopened_at = world.now() + 1
    world.set_next_timestamp(reopened_at)
    assert rounds_events(close(world, rounds_id)) == [
        (
            "RoundReopened",
            {"roundsId": rounds_id, "round": 0, "deadline": reopened_at + ROUND_TIMEOUT},
        )
    ]
    job = rounds_job(world, rounds_id)
    assert (job.round, job.round_deadline, job.status) == (
        0,
        reopened_at + ROUND_TIMEOUT,
        Rounds.RUNNING,
    )
    assert world.job(second).status == JobStatus.OPEN  # still claimable
    world.expect_revert(
        world.rounds.functions.closeRound(rounds_id),
        stranger,
        "RoundsMarketRoundNotDue",
        rounds_id,
        0,
        reopened_at + ROUND_TIMEOUT,
    )
    solve(world, second, stranger)
    finalize(world, second)
    assert rounds_events(close(world, rounds_id)) == [
        ("RoundClosed", {"roundsId": rounds_id, "round": 0, "includedMask": 0b11}),
        ("RoundsJobFinished", {"roundsId": rounds_id}),
    ]


def test_convicted_unit_reopens_in_its_round_and_is_left_out_unless_refinalized(
    world: World, submitter: str, solver: str, stranger: str, dispute_game: str
) -> None:
    """The dispute game convicts unit (0, 1)'s solver: its lock is slashed, the unit reopens
    (attempt 1) inside round 0; nobody re-solves it by the deadline, so round 0 closes on slot 0
    alone and the unit's escrow goes back to the submitter. Every party's balance is exact."""
    cheater, challenger = stranger, world.accounts[4]
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=1, quorum=1)
    honest_unit, forged_unit = units(world, rounds_id, 0)
    solve(world, honest_unit, solver)
    solve(world, forged_unit, cheater, tag="forged")
    market = world.market.functions
    lock = MIN_SOLVER_STAKE
    world.send(market.freezeJob(forged_unit), dispute_game)
    jackpot, submitter_share = lock // 2, lock // 4
    world.send(
        market.reopenJob(forged_unit, [challenger, submitter], [jackpot, submitter_share]),
        dispute_game,
    )
    job = world.job(forged_unit)
    assert (job.status, job.attempt, job.solver) == (JobStatus.OPEN, 1, ZERO_ADDRESS)
    finalize(world, honest_unit)
    world.mine_at(rounds_job(world, rounds_id).round_deadline + 1)
    logs = close(world, rounds_id)
    assert rounds_events(logs) == [
        ("RoundClosed", {"roundsId": rounds_id, "round": 0, "includedMask": 0b01}),
        ("RoundsJobFinished", {"roundsId": rounds_id}),
    ]
    assert world.job(forged_unit).status == JobStatus.CANCELLED

    _withdraw_all(world, submitter, solver, cheater, challenger)
    # submitter: paid 2 units; gets back the forged unit's escrow, the honest unit's fee and
    # its quarter of the slashed lock
    assert world.balance(submitter) == UNIT + UNIT_FEE + submitter_share
    assert world.balance(solver) == UNIT_REWARD
    assert world.stake_info(solver) == (MIN_SOLVER_STAKE, 0, 0, 0)
    assert world.balance(challenger) == jackpot
    assert world.stake_info(cheater) == (0, 0, 0, 0)  # the whole lock slashed
    assert world.balance(cheater) == 0


def test_convicted_unit_resolved_in_time_is_included(
    world: World, submitter: str, solver: str, stranger: str, dispute_game: str
) -> None:
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=1, quorum=2)
    honest_unit, forged_unit = units(world, rounds_id, 0)
    solve(world, honest_unit, solver)
    solve(world, forged_unit, stranger, tag="forged")
    world.send(world.market.functions.freezeJob(forged_unit), dispute_game)
    world.send(world.market.functions.reopenJob(forged_unit, [], []), dispute_game)
    solve(world, forged_unit, solver, tag="honest")  # any staked solver, attempt 1
    finalize(world, honest_unit, forged_unit)
    assert rounds_events(close(world, rounds_id))[0] == (
        "RoundClosed",
        {"roundsId": rounds_id, "round": 0, "includedMask": 0b11},
    )
    assert world.credit(solver) == 2 * UNIT_REWARD
    assert world.stake_info(stranger) == (0, 0, 0, 0)


def test_timed_out_unit_is_reclaimed_and_finished_by_another_solver(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=1, quorum=2)
    first, vanished = units(world, rounds_id, 0)
    solve(world, first, solver)
    claim(world, vanished, stranger)
    world.advance(SOLVE_TIMEOUT + 1)
    world.send(world.market.functions.reclaimTimedOut(vanished), solver)
    assert world.stake_info(stranger) == (MIN_SOLVER_STAKE * 9 // 10, 0, 0, 0)
    solve(world, vanished, solver, tag="again")
    finalize(world, first, vanished)
    assert rounds_events(close(world, rounds_id))[0][1]["includedMask"] == 0b11
    _withdraw_all(world, solver, submitter)
    assert world.balance(solver) == 2 * UNIT_REWARD
    assert world.balance(submitter) == 2 * UNIT_FEE


def test_submitter_cancels_open_units_and_unopened_rounds(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=3, quorum=1)
    claimed, still_open = units(world, rounds_id, 0)
    claim(world, claimed, solver)
    world.expect_revert(
        world.rounds.functions.cancelRoundsJob(rounds_id),
        stranger,
        "RoundsMarketNotSubmitter",
        rounds_id,
        stranger,
    )
    receipt = world.send(world.rounds.functions.cancelRoundsJob(rounds_id), submitter)
    unopened = 2 * 2 * UNIT
    assert rounds_events(world.logs(receipt)) == [
        ("RoundsJobCancelled", {"roundsId": rounds_id, "refund": unopened + UNIT})
    ]
    assert world.job(still_open).status == JobStatus.CANCELLED
    assert world.job(claimed).status == JobStatus.CLAIMED
    assert world.credit(submitter) == unopened + UNIT
    assert world.market.functions.roundsReserve().call() == 0
    assert rounds_job(world, rounds_id).status == Rounds.CANCELLED
    for fn in (
        world.rounds.functions.closeRound(rounds_id),
        world.rounds.functions.cancelRoundsJob(rounds_id),
    ):
        world.expect_revert(fn, submitter, "RoundsMarketNotRunning", rounds_id, Rounds.CANCELLED)

    # the claimed unit runs on and is paid as usual
    job = world.job(claimed)
    trace = Trace.make(claimed, job.attempt, job.num_segments)
    world.send(world.market.functions.commitTrace(*trace.args(claimed)), solver)
    finalize(world, claimed)
    _withdraw_all(world, submitter, solver)
    assert world.balance(submitter) == unopened + UNIT + UNIT_FEE
    assert world.balance(solver) == UNIT_REWARD
    assert world.balance(world.rounds.address) == 0


def test_submitter_cannot_cancel_a_unit(world: World, submitter: str) -> None:
    rounds_id, _ = post_rounds(world, submitter)
    unit = units(world, rounds_id, 0)[0]
    world.expect_revert(
        world.market.functions.cancelJob(unit), submitter, "JobMarketUnitNotCancellable", unit
    )
    job_id, _ = world.post(submitter)  # an ordinary job still cancels
    assert not world.market.functions.isUnit(job_id).call()
    world.send(world.market.functions.cancelJob(job_id), submitter)
    assert world.rounds.functions.unitOf(job_id).call() == [0, 0, 0]


def test_only_the_rounds_market_posts_and_cancels_units(
    world: World, submitter: str, owner: str
) -> None:
    market = world.market.functions
    rounds_id, _ = post_rounds(world, submitter)
    unit = units(world, rounds_id, 0)[0]
    post = market.postUnits(
        submitter,
        SPEC_HASH,
        32,
        4,
        UNIT_REWARD,
        UNIT_FEE,
        SOLVE_TIMEOUT,
        SAMPLE_RATE_BPS,
        1,
        (UNIT_REWARD, 0, 0),
    )
    for caller in (submitter, owner):
        world.expect_revert(post, caller, "JobMarketNotRoundsMarket", caller)
        for fn in (
            market.cancelUnits(unit, 1),
            market.depositRoundsEscrow(1),
            market.refundRoundsEscrow(caller, 1),
        ):
            world.expect_revert(fn, caller, "JobMarketNotRoundsMarket", caller)
    # wired once at deployment: not even the deployer can wire another rounds market
    world.expect_revert(market.initialize(owner), owner, "JobMarketUnauthorized", owner)
    assert market.roundsMarket().call() == world.rounds.address


def test_attesters_of_a_unit_are_paid_and_the_fee_rest_refunds_the_submitter(
    world: World, submitter: str, solver: str
) -> None:
    """A unit is attested exactly like a job: the drawn attesters earn fee / S per revealed segment
    and the unpaid rest of the unit's fee goes to the rounds job's submitter."""
    register_verifiers(world, 200 * ETHER)
    rounds_id, _ = post_rounds(
        world, submitter, workers=1, rounds=1, quorum=1, sample_rate_bps=6_000
    )
    (unit,) = units(world, rounds_id, 0)
    claim(world, unit, solver)
    trace = FullTrace.make(unit, 0, INNER_STEPS // CHECKPOINT_EVERY, CHECKPOINT_EVERY)
    world.send(world.market.functions.commitTrace(*trace.commit_args()), solver)
    attesters = draw_attesters(world, unit)
    att = world.attestations.functions
    assigned = {a: [int(i) for i in att.assignedSegments(unit, a).call()] for a in attesters}
    revealing = attesters[:2]  # the third never attests
    for a in revealing:
        roots = [trace.seg_root(i) for i in assigned[a]]
        world.send(
            att.commitAttestation(unit, attestation_digest(unit, 0, assigned[a], roots, a)), a
        )
    world.mine_at(world.job(unit).deadline + 1)
    for a in revealing:
        roots = [trace.seg_root(i) for i in assigned[a]]
        proofs = [trace.segments.proof(i - 1) for i in assigned[a]]
        world.send(
            att.revealAttestation(unit, trace.commitment, roots, ATTESTATION_SALT, proofs), a
        )
    world.mine_at(world.job(unit).deadline + REVEAL_PHASE + 1)
    world.send(world.market.functions.finalizeJob(unit), world.owner)
    assert rounds_events(close(world, rounds_id))[0][1]["includedMask"] == 1

    sampled = sum(len(s) for s in assigned.values())  # S = ceil(0.6 · 8) = 5
    per_segment = UNIT_FEE // sampled
    paid = {a: per_segment * len(assigned[a]) for a in revealing}
    _withdraw_all(world, submitter, solver, *attesters)
    for a in revealing:
        assert world.balance(a) == paid[a]
    assert world.balance(attesters[2]) == 0
    assert world.balance(solver) == UNIT_REWARD
    assert world.balance(submitter) == UNIT_FEE - sum(paid.values())


def test_a_late_unit_that_reopens_after_its_round_closed_is_cancelled_as_stale(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    """Found by the Forge drain: a unit still claimed at its round's close runs on; when it then
    times out it is Open again, the submitter may not cancel it and no round uses it, so anyone
    cancels it as stale and its escrow goes back to the submitter."""
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=2, quorum=1)
    final, late = units(world, rounds_id, 0)
    solve(world, final, solver)
    finalize(world, final)
    world.expect_revert(
        world.rounds.functions.cancelStaleUnits(rounds_id, 0),
        stranger,
        "RoundsMarketRoundNotStale",
        rounds_id,
        0,
    )
    deadline = rounds_job(world, rounds_id).round_deadline
    world.mine_at(deadline - 100)
    claim(world, late, stranger)
    world.mine_at(deadline + 1)
    close(world, rounds_id)  # round 0 closes on slot 0; round 1 opens
    world.advance(SOLVE_TIMEOUT)
    world.send(world.market.functions.reclaimTimedOut(late), solver)
    assert world.job(late).status == JobStatus.OPEN
    world.expect_revert(
        world.market.functions.cancelJob(late), submitter, "JobMarketUnitNotCancellable", late
    )
    world.expect_revert(
        world.rounds.functions.cancelStaleUnits(rounds_id, 2),
        stranger,
        "RoundsMarketRoundNotStale",
        rounds_id,
        2,
    )
    credit = world.credit(submitter)
    receipt = world.send(world.rounds.functions.cancelStaleUnits(rounds_id, 0), stranger)
    assert ("JobCancelled", {"jobId": late}) in world.logs(receipt)
    assert world.credit(submitter) == credit + UNIT
    assert world.rounds.functions.includedMask(rounds_id, 0).call() == 0b01
    assert all(world.job(j).status == JobStatus.OPEN for j in units(world, rounds_id, 1))
