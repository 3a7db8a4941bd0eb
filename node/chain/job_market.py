"""Typed adapter of ``JobMarket``: the job state machine, escrow credits and the trace commitment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_typing import ChecksumAddress

from node.chain.adapter import ContractAdapter, first_event
from node.chain.events import (
    JOB_MARKET_EVENTS,
    CreditWithdrawn,
    JobCancelled,
    JobClaimed,
    JobCommitted,
    JobFinalized,
    JobPosted,
    JobSolveTimedOut,
)
from node.chain.types import (
    Commitment,
    Job,
    JobId,
    JobStatus,
    JobTerms,
    SolverRecord,
    Timestamp,
    Wei,
)
from node.errors import TransactionRevertedError


class JobMarketAdapter(ContractAdapter):
    CONTRACT = "JobMarket"
    EVENTS = JOB_MARKET_EVENTS

    # --- transactions (each returns the event it emitted) ---

    def post_job(
        self,
        *,
        spec_hash: bytes,
        steps: int,
        checkpoint_every: int,
        reward: int,
        verifier_fee: int,
        solve_timeout: int,
        sample_rate_bps: int,
        floor: Wei | None = None,
        ramp: int = 0,
        min_finalized: int = 0,
    ) -> JobPosted:
        """Post a job; the sender must have approved ``reward + verifier_fee`` to the market.

        ``reward`` is the cap; with a ``floor`` below it and a ``ramp`` in seconds the offer rises
        from the floor to the cap (docs/MARKET.md, "Pricing"); ``min_finalized`` admits only solvers
        with that many finalized jobs. The defaults are a fixed price through plain ``postJob``."""
        name, args = post_job_call(
            spec_hash=spec_hash,
            steps=steps,
            checkpoint_every=checkpoint_every,
            reward=reward,
            verifier_fee=verifier_fee,
            solve_timeout=solve_timeout,
            sample_rate_bps=sample_rate_bps,
            floor=floor,
            ramp=ramp,
            min_finalized=min_finalized,
        )
        return first_event(self.events_in(self._transact(name, *args).receipt), JobPosted)

    def cancel_job(self, job_id: int) -> JobCancelled:
        return first_event(
            self.events_in(self._transact("cancelJob", job_id).receipt), JobCancelled
        )

    def claim_job(self, job_id: int) -> JobClaimed:
        """Claim an open job at its current offer (``JobClaimed.price``), locking twice the price
        (at least the minimum stake) of the sender's free stake."""
        return first_event(self.events_in(self._transact("claimJob", job_id).receipt), JobClaimed)

    def commit_trace(
        self, job_id: int, commitment: Commitment, final_state_proof: Sequence[bytes]
    ) -> JobCommitted:
        """Commit the trace; the proof shows ``final_state_hash`` as checkpoint leaf N of ``state_root``."""
        sent = self._transact(
            "commitTrace",
            job_id,
            commitment.state_root,
            commitment.seg_roots_root,
            commitment.final_state_hash,
            commitment.manifest_hash,
            list(final_state_proof),
        )
        return first_event(self.events_in(sent.receipt), JobCommitted)

    def reclaim_timed_out(self, job_id: int) -> JobSolveTimedOut:
        sent = self._transact("reclaimTimedOut", job_id)
        return first_event(self.events_in(sent.receipt), JobSolveTimedOut)

    def finalize_job(self, job_id: int) -> JobFinalized:
        return first_event(
            self.events_in(self._transact("finalizeJob", job_id).receipt), JobFinalized
        )

    def withdraw(self) -> CreditWithdrawn:
        """Withdraw all of the sender's credit."""
        return first_event(self.events_in(self._transact("withdraw").receipt), CreditWithdrawn)

    # --- views ---

    def get_job(self, job_id: int) -> Job:
        """The job as stored; TransactionRevertedError(JobMarketUnknownJob) for an unknown id."""
        raw = self._call("getJob", job_id)
        job = job_from_tuple(JobId(job_id), tuple(raw))
        if job.status is JobStatus.NONE:
            raise TransactionRevertedError(
                f"JobMarket.getJob: no job {job_id}",
                error_name="JobMarketUnknownJob",
                error_args=(job_id,),
            )
        return job

    def job_count(self) -> int:
        return int(self._call("jobCount"))

    def credit_of(self, account: str) -> Wei:
        return Wei(int(self._call("creditOf", self.w3.to_checksum_address(account))))

    def current_price(self, job_id: int) -> Wei:
        """The offer a claim would fix now while the job is Open; else its reward (the fixed price)."""
        return Wei(int(self._call("currentPrice", job_id)))

    def terms_of(self, job_id: int) -> JobTerms:
        floor, cap, ramp_start, ramp, min_finalized = self._call("termsOf", job_id)
        return JobTerms(
            floor=Wei(int(floor)),
            cap=Wei(int(cap)),
            ramp_start=Timestamp(int(ramp_start)),
            ramp=int(ramp),
            min_finalized=int(min_finalized),
        )

    def record_of(self, solver: str) -> SolverRecord:
        finalized, value, frauds, timeouts = self._call(
            "recordOf", self.w3.to_checksum_address(solver)
        )
        return SolverRecord(
            finalized=int(finalized),
            value=Wei(int(value)),
            frauds=int(frauds),
            timeouts=int(timeouts),
        )

    def solver_lock_of(self, job_id: int) -> Wei:
        """The lock a claim would take now: twice the current price, at least the minimum stake."""
        return Wei(int(self._call("solverLockOf", job_id)))

    def total_liabilities(self) -> Wei:
        return Wei(int(self._call("totalLiabilities")))

    def dispute_game(self) -> ChecksumAddress:
        return self.w3.to_checksum_address(self._call("disputeGame"))

    def min_solver_stake(self) -> Wei:
        return Wei(int(self._call("minSolverStake")))

    def challenge_window(self) -> int:
        return int(self._call("challengeWindow"))

    def reveal_phase(self) -> int:
        return int(self._call("revealPhase"))

    def min_sample_rate_bps(self) -> int:
        return int(self._call("minSampleRateBps"))

    def get_commitment(self, job_id: int) -> JobCommitted | None:
        """The latest ``JobCommitted`` of the job's current attempt, or None if it has none."""
        job = self.get_job(job_id)
        found = [
            event
            for event in self.get_events("JobCommitted", filters={"jobId": job_id})
            if isinstance(event, JobCommitted) and event.attempt == job.attempt
        ]
        return max(found, key=lambda e: e.position) if found else None


def post_job_call(
    *,
    spec_hash: bytes,
    steps: int,
    checkpoint_every: int,
    reward: int,
    verifier_fee: int,
    solve_timeout: int,
    sample_rate_bps: int,
    floor: int | None = None,
    ramp: int = 0,
    min_finalized: int = 0,
) -> tuple[str, tuple[Any, ...]]:
    """The contract function and arguments that post this job: ``postJob`` for a fixed price,
    ``postJobWithTerms`` otherwise (the CLI dry-runs the same call it sends)."""
    args = (
        spec_hash,
        steps,
        checkpoint_every,
        reward,
        verifier_fee,
        solve_timeout,
        sample_rate_bps,
    )
    terms = price_terms(reward, floor, ramp, min_finalized)
    return ("postJob", args) if terms is None else ("postJobWithTerms", (*args, terms))


def price_terms(
    cap: int, floor: int | None, ramp: int, min_finalized: int
) -> tuple[int, int, int] | None:
    """``IJobMarket.PriceTerms`` for the contract (floor, ramp, minFinalized), or None for today's
    fixed price with no minimum record (plain ``postJob``). A floor without a ramp, or a ramp
    without a floor below the cap, is a fixed price: said here rather than silently ignored."""
    if ramp < 0 or min_finalized < 0:
        raise ValueError(f"ramp ({ramp}) and min_finalized ({min_finalized}) must not be negative")
    if floor is not None and not 0 < floor <= cap:
        raise ValueError(
            f"floor {floor} wei must be above 0 and at most the reward (cap) {cap} wei"
        )
    if floor is not None and floor < cap and ramp == 0:
        raise ValueError(f"floor {floor} wei below the cap {cap} wei needs a ramp (seconds > 0)")
    effective_floor = cap if floor is None else floor
    if effective_floor == cap and min_finalized == 0:
        return None
    return (effective_floor, ramp if effective_floor < cap else 0, min_finalized)


def job_from_tuple(job_id: JobId, raw: Sequence[Any]) -> Job:
    """``IJobMarket.Job`` as returned by ``getJob`` (field order fixed by the interface)."""
    (
        submitter,
        reward,
        solver,
        verifier_fee,
        spec_hash,
        num_segments,
        checkpoint_every,
        attempt,
        solve_timeout,
        sample_rate_bps,
        open_disputes,
        status,
        deadline,
        commit_block,
        commitment,
    ) = raw
    return Job(
        job_id=job_id,
        submitter=submitter,
        reward=Wei(int(reward)),
        solver=solver,
        verifier_fee=Wei(int(verifier_fee)),
        spec_hash=bytes(spec_hash),
        num_segments=int(num_segments),
        checkpoint_every=int(checkpoint_every),
        attempt=int(attempt),
        solve_timeout=int(solve_timeout),
        sample_rate_bps=int(sample_rate_bps),
        open_disputes=int(open_disputes),
        status=JobStatus(int(status)),
        deadline=Timestamp(int(deadline)),
        commitment=bytes(commitment),
        commit_block=int(commit_block),
    )
