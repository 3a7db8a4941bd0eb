"""Adapters round-trip a job through the state machine with typed results."""

from __future__ import annotations

import pytest
from chain_helpers import REWARD, SOLVE_TIMEOUT, VERIFIER_FEE, commitment_for, post

from node.chain.client import increase_time
from node.chain.events import (
    CreditWithdrawn,
    JobCancelled,
    JobClaimed,
    JobCommitted,
    JobFinalized,
    JobPosted,
    JobSolveTimedOut,
)
from node.chain.protocol import Protocol
from node.chain.types import Job, JobStatus, StakeInfo
from node.chain.units import CROWD
from node.errors import TransactionRevertedError

pytestmark = pytest.mark.chain


def test_job_round_trip(submitter: Protocol, solver: Protocol) -> None:
    posted = post(submitter)
    assert isinstance(posted, JobPosted)
    assert (posted.reward, posted.verifier_fee, posted.steps) == (REWARD, VERIFIER_FEE, 8)
    job = submitter.market.get_job(posted.job_id)
    assert isinstance(job, Job)
    assert (job.status, job.num_segments, job.checkpoint_every, job.steps) == (
        JobStatus.OPEN,
        4,
        2,
        8,
    )

    staked = solver.stake(500 * CROWD)
    assert staked.total_staked == 500 * CROWD
    lock = solver.market.solver_lock_of(posted.job_id)
    claimed = solver.market.claim_job(posted.job_id)
    assert isinstance(claimed, JobClaimed)
    assert (claimed.solver, claimed.attempt, claimed.locked_stake) == (solver.address, 0, lock)
    info = solver.registry.stake_of(solver.address)
    assert isinstance(info, StakeInfo) and info.locked == lock and info.free == 500 * CROWD - lock

    commitment, proof = commitment_for(posted.job_id, claimed.attempt)
    committed = solver.market.commit_trace(posted.job_id, commitment, proof)
    assert isinstance(committed, JobCommitted)
    assert committed.final_state_hash == commitment.final_state_hash
    assert solver.market.get_job(posted.job_id).status is JobStatus.COMMITTED
    assert solver.market.get_commitment(posted.job_id) == committed

    with pytest.raises(TransactionRevertedError) as early:
        solver.market.finalize_job(posted.job_id)
    assert early.value.error_name == "JobMarketChallengeWindowOpen"

    increase_time(solver.w3, solver.market.challenge_window() + solver.market.reveal_phase() + 1)
    finalized = solver.market.finalize_job(posted.job_id)
    assert isinstance(finalized, JobFinalized)
    assert (finalized.reward, finalized.refund) == (REWARD, VERIFIER_FEE)
    assert solver.market.get_job(posted.job_id).status is JobStatus.FINALIZED
    assert solver.registry.stake_of(solver.address).locked == 0

    before = solver.token.balance_of(solver.address)
    withdrawn = solver.market.withdraw()
    assert isinstance(withdrawn, CreditWithdrawn) and withdrawn.amount == REWARD
    assert solver.token.balance_of(solver.address) == before + REWARD
    assert submitter.market.credit_of(submitter.address) == VERIFIER_FEE


def test_bad_final_state_proof_is_rejected(submitter: Protocol, solver: Protocol) -> None:
    posted = post(submitter)
    solver.stake(500 * CROWD)
    claimed = solver.market.claim_job(posted.job_id)
    commitment, proof = commitment_for(posted.job_id, claimed.attempt + 1)  # wrong attempt
    with pytest.raises(TransactionRevertedError) as bad:
        solver.market.commit_trace(posted.job_id, commitment, proof)
    assert bad.value.error_name == "JobMarketInvalidFinalStateProof"
    assert solver.market.get_commitment(posted.job_id) is None


def test_cancel_and_timeout(submitter: Protocol, solver: Protocol) -> None:
    cancelled = submitter.market.cancel_job(post(submitter, "a").job_id)
    assert isinstance(cancelled, JobCancelled)
    assert submitter.market.get_job(cancelled.job_id).status is JobStatus.CANCELLED

    job_id = post(submitter, "b").job_id
    solver.stake(500 * CROWD)
    solver.market.claim_job(job_id)
    with pytest.raises(TransactionRevertedError) as early:
        solver.market.reclaim_timed_out(job_id)
    assert early.value.error_name == "JobMarketSolveDeadlineNotReached"
    increase_time(solver.w3, SOLVE_TIMEOUT + 1)
    timed_out = submitter.market.reclaim_timed_out(job_id)
    assert isinstance(timed_out, JobSolveTimedOut) and timed_out.new_attempt == 1
    job = submitter.market.get_job(job_id)
    assert (job.status, job.attempt) == (JobStatus.OPEN, 1)


def test_wrong_caller_is_named(submitter: Protocol, solver: Protocol) -> None:
    job_id = post(submitter).job_id
    with pytest.raises(TransactionRevertedError) as wrong:
        solver.market.cancel_job(job_id)
    assert wrong.value.error_name == "JobMarketNotSubmitter"
    assert wrong.value.error_args == (job_id, solver.address)
