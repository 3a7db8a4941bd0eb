"""The RoundsMarket adapter: a rounds job through its rounds with typed results (docs/ROUNDS.md)."""

from __future__ import annotations

import hashlib

import pytest
from chain_helpers import CHECKPOINT_EVERY, SEGMENTS, SOLVE_TIMEOUT, claim_and_commit

from node.chain.client import increase_time
from node.chain.events import RoundClosed, RoundReopened, RoundsJobCancelled, RoundsJobPosted
from node.chain.protocol import Protocol
from node.chain.types import JobStatus, RoundsStatus, Unit
from node.chain.units import CROWD
from node.errors import TransactionRevertedError

pytestmark = pytest.mark.chain

UNIT_REWARD, UNIT_FEE = 10 * CROWD, 1 * CROWD


def _post(submitter: Protocol, *, workers: int, rounds: int, quorum: int) -> RoundsJobPosted:
    market = submitter.market
    return submitter.post_rounds_job(
        spec_hash=hashlib.sha256(f"rounds {market.job_count()}".encode()).digest(),
        workers=workers,
        rounds=rounds,
        quorum=quorum,
        inner_steps=SEGMENTS * CHECKPOINT_EVERY,
        checkpoint_every=CHECKPOINT_EVERY,
        unit_reward=UNIT_REWARD,
        unit_verifier_fee=UNIT_FEE,
        solve_timeout=SOLVE_TIMEOUT,
        round_timeout=SOLVE_TIMEOUT + market.challenge_window() + market.reveal_phase(),
        sample_rate_bps=1_000,
    )


def _finalize_all(solver: Protocol, job_ids: list[int]) -> None:
    increase_time(solver.w3, solver.market.challenge_window() + solver.market.reveal_phase() + 1)
    for job_id in job_ids:
        solver.market.finalize_job(job_id)


def test_rounds_job_round_trip(submitter: Protocol, solver: Protocol) -> None:
    solver.stake(1_000 * CROWD)
    posted = _post(submitter, workers=2, rounds=2, quorum=1)
    rounds = submitter.rounds_market
    job = rounds.get_rounds_job(posted.rounds_id)
    assert (job.submitter, job.workers, job.rounds, job.quorum, job.round) == (
        submitter.address,
        2,
        2,
        1,
        0,
    )
    assert (job.status, job.escrow) == (RoundsStatus.RUNNING, 4 * (UNIT_REWARD + UNIT_FEE))
    round0 = rounds.round_jobs(posted.rounds_id, 0)
    assert [rounds.unit_job(posted.rounds_id, 0, w) for w in (0, 1)] == round0
    assert rounds.unit_job(posted.rounds_id, 1, 0) is None
    assert rounds.unit_of(round0[1]) == Unit(posted.rounds_id, 0, 1)
    assert submitter.market.get_job(round0[0]).submitter == submitter.address

    with pytest.raises(TransactionRevertedError) as early:
        rounds.close_round(posted.rounds_id)
    assert early.value.error_name == "RoundsMarketRoundNotDue"
    with pytest.raises(TransactionRevertedError) as unit_cancel:
        submitter.market.cancel_job(round0[0])
    assert unit_cancel.value.error_name == "JobMarketUnitNotCancellable"

    for job_id in round0:
        claim_and_commit(solver, job_id)
    _finalize_all(solver, round0)
    closed = rounds.close_round(posted.rounds_id)
    assert isinstance(closed, RoundClosed)
    assert (closed.round, closed.included_slots) == (0, [0, 1])
    assert rounds.included_slots(posted.rounds_id, 0) == [0, 1]
    round1 = rounds.round_jobs(posted.rounds_id, 1)
    assert round1 == [round0[1] + 1, round0[1] + 2]

    claim_and_commit(solver, round1[1])  # slot 0 never done
    _finalize_all(solver, [round1[1]])
    increase_time(solver.w3, rounds.get_rounds_job(posted.rounds_id).round_timeout)
    closed = rounds.close_round(posted.rounds_id)
    assert isinstance(closed, RoundClosed) and closed.included_slots == [1]
    assert solver.market.get_job(round1[0]).status is JobStatus.CANCELLED
    assert rounds.get_rounds_job(posted.rounds_id).status is RoundsStatus.FINISHED


def test_reopen_and_cancel(submitter: Protocol) -> None:
    posted = _post(submitter, workers=2, rounds=3, quorum=2)
    rounds = submitter.rounds_market
    increase_time(submitter.w3, rounds.get_rounds_job(posted.rounds_id).round_timeout + 1)
    reopened = rounds.close_round(posted.rounds_id)
    assert isinstance(reopened, RoundReopened) and reopened.round == 0
    credit = submitter.market.credit_of(submitter.address)
    cancelled = rounds.cancel_rounds_job(posted.rounds_id)
    assert isinstance(cancelled, RoundsJobCancelled)
    assert cancelled.refund == 6 * (UNIT_REWARD + UNIT_FEE)  # 2 open units + 2 rounds never opened
    assert submitter.market.credit_of(submitter.address) == credit + cancelled.refund
    with pytest.raises(TransactionRevertedError) as unknown:
        rounds.get_rounds_job(10_000)
    assert unknown.value.error_name == "RoundsMarketUnknownRoundsJob"
