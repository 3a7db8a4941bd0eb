"""Typed adapter of ``RoundsMarket``: rounds jobs, their round gates and the units' job ids.

A unit (round r, slot w) is an ordinary JobMarket job (claim, commit, finalize it with
``JobMarketAdapter``); this adapter posts the rounds job, closes rounds and answers which job is
which unit and which slots a closed round included (docs/ROUNDS.md). It holds no tokens: every
refund of a rounds job (cancelled units, rounds never opened) is a JobMarket credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_typing import ChecksumAddress

from node.chain.adapter import ContractAdapter, first_event
from node.chain.events import (
    ROUNDS_MARKET_EVENTS,
    RoundClosed,
    RoundReopened,
    RoundsJobCancelled,
    RoundsJobPosted,
    slots_of_mask,
)
from node.chain.job_market import price_terms
from node.chain.tx import SentTx
from node.chain.types import JobId, RoundsJob, RoundsStatus, Timestamp, Unit, Wei
from node.errors import TransactionRevertedError


class RoundsMarketAdapter(ContractAdapter):
    CONTRACT = "RoundsMarket"
    EVENTS = ROUNDS_MARKET_EVENTS

    # --- transactions (each returns the event it emitted) ---

    def post_rounds_job(
        self,
        *,
        spec_hash: bytes,
        workers: int,
        rounds: int,
        quorum: int,
        inner_steps: int,
        checkpoint_every: int,
        unit_reward: int,
        unit_verifier_fee: int,
        solve_timeout: int,
        round_timeout: int,
        sample_rate_bps: int,
        unit_floor: int | None = None,
        unit_ramp: int = 0,
        unit_min_finalized: int = 0,
    ) -> RoundsJobPosted:
        """Post a rounds job and open round 0; the sender must have approved the escrow
        W·R·(unit_reward + unit_verifier_fee) to the rounds market (``Protocol.post_rounds_job``
        approves it first). Each unit is priced like a job (``JobMarketAdapter.post_job``):
        ``unit_reward`` is its cap, the offer ramps from ``unit_floor`` over ``unit_ramp`` seconds
        from each round's opening."""
        sent = self._transact(
            "postRoundsJob",
            *post_rounds_args(
                spec_hash=spec_hash,
                workers=workers,
                rounds=rounds,
                quorum=quorum,
                inner_steps=inner_steps,
                checkpoint_every=checkpoint_every,
                unit_reward=unit_reward,
                unit_verifier_fee=unit_verifier_fee,
                solve_timeout=solve_timeout,
                round_timeout=round_timeout,
                sample_rate_bps=sample_rate_bps,
                unit_floor=unit_floor,
                unit_ramp=unit_ramp,
                unit_min_finalized=unit_min_finalized,
            ),
        )
        return first_event(self.events_in(sent.receipt), RoundsJobPosted)

    def close_round(self, rounds_id: int) -> RoundClosed | RoundReopened:
        """Close the current round (RoundClosed, then the next RoundOpened or RoundsJobFinished in
        the same transaction) or, past its deadline without a quorum, reopen it (RoundReopened)."""
        events = self.events_in(self._transact("closeRound", rounds_id).receipt)
        for event in events:
            if isinstance(event, RoundClosed | RoundReopened):
                return event
        return first_event(events, RoundClosed)  # raises: neither was emitted

    def cancel_rounds_job(self, rounds_id: int) -> RoundsJobCancelled:
        sent = self._transact("cancelRoundsJob", rounds_id)
        return first_event(self.events_in(sent.receipt), RoundsJobCancelled)

    def cancel_stale_units(self, rounds_id: int, round_: int) -> SentTx:
        """Cancel the Open units of a round that no longer gates its rounds job (a late unit that
        timed out or was convicted after the close); their escrow is credited to the submitter."""
        return self._transact("cancelStaleUnits", rounds_id, round_)

    # --- views ---

    def get_rounds_job(self, rounds_id: int) -> RoundsJob:
        """The rounds job; TransactionRevertedError(RoundsMarketUnknownRoundsJob) for an unknown id."""
        job = rounds_job_from_tuple(rounds_id, tuple(self._call("getRoundsJob", rounds_id)))
        if job.status is RoundsStatus.NONE:
            raise TransactionRevertedError(
                f"RoundsMarket.getRoundsJob: no rounds job {rounds_id}",
                error_name="RoundsMarketUnknownRoundsJob",
                error_args=(rounds_id,),
            )
        return job

    def unit_job(self, rounds_id: int, round_: int, slot: int) -> JobId | None:
        """Job id of unit (round, slot), or None when that round is not opened (yet)."""
        job_id = int(self._call("unitJob", rounds_id, round_, slot))
        return JobId(job_id) if job_id else None

    def round_jobs(self, rounds_id: int, round_: int) -> list[JobId]:
        """The job ids of a round's W units in slot order ([] when the round is not opened)."""
        job = self.get_rounds_job(rounds_id)
        first = self.unit_job(rounds_id, round_, 0)
        return [] if first is None else [JobId(first + w) for w in range(job.workers)]

    def unit_of(self, job_id: int) -> Unit | None:
        """The unit job ``job_id`` is, or None when it is an ordinary job."""
        rounds_id, round_, slot = self._call("unitOf", job_id)
        return Unit(int(rounds_id), int(round_), int(slot)) if int(rounds_id) else None

    def included_mask(self, rounds_id: int, round_: int) -> int:
        """Bit w set when unit (round, w) was final at the round's close; 0 until it closed."""
        return int(self._call("includedMask", rounds_id, round_))

    def included_slots(self, rounds_id: int, round_: int) -> list[int]:
        """The slots a closed round included, increasing ([] until the round closed)."""
        return slots_of_mask(self.included_mask(rounds_id, round_))

    def rounds_job_count(self) -> int:
        return int(self._call("roundsJobCount"))

    def job_market(self) -> ChecksumAddress:
        return self.w3.to_checksum_address(self._call("jobMarket"))


def rounds_job_from_tuple(rounds_id: int, raw: Sequence[Any]) -> RoundsJob:
    """``IRoundsMarket.RoundsJob`` as returned by ``getRoundsJob`` (field order fixed by the interface)."""
    (
        submitter,
        spec_hash,
        workers,
        rounds,
        quorum,
        inner_steps,
        checkpoint_every,
        unit_reward,
        unit_verifier_fee,
        solve_timeout,
        round_timeout,
        sample_rate_bps,
        round_,
        round_deadline,
        status,
    ) = raw
    return RoundsJob(
        rounds_id=rounds_id,
        submitter=submitter,
        spec_hash=bytes(spec_hash),
        workers=int(workers),
        rounds=int(rounds),
        quorum=int(quorum),
        inner_steps=int(inner_steps),
        checkpoint_every=int(checkpoint_every),
        unit_reward=Wei(int(unit_reward)),
        unit_verifier_fee=Wei(int(unit_verifier_fee)),
        solve_timeout=int(solve_timeout),
        round_timeout=int(round_timeout),
        sample_rate_bps=int(sample_rate_bps),
        round=int(round_),
        round_deadline=Timestamp(int(round_deadline)),
        status=RoundsStatus(int(status)),
    )


def post_rounds_args(
    *,
    spec_hash: bytes,
    workers: int,
    rounds: int,
    quorum: int,
    inner_steps: int,
    checkpoint_every: int,
    unit_reward: int,
    unit_verifier_fee: int,
    solve_timeout: int,
    round_timeout: int,
    sample_rate_bps: int,
    unit_floor: int | None = None,
    unit_ramp: int = 0,
    unit_min_finalized: int = 0,
) -> tuple[Any, ...]:
    """``postRoundsJob``'s arguments in ABI order (the CLI dry-runs the same tuple it sends)."""
    terms = price_terms(unit_reward, unit_floor, unit_ramp, unit_min_finalized)
    return (
        spec_hash,
        workers,
        rounds,
        quorum,
        inner_steps,
        checkpoint_every,
        unit_reward,
        unit_verifier_fee,
        solve_timeout,
        round_timeout,
        sample_rate_bps,
        terms if terms is not None else (unit_reward, 0, 0),
    )
