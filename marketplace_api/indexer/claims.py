"""Projection of ``JobClaimed`` into ``claims``: the price each claim fixed (docs/MARKET.md).

A claim event from before the auction (no ``price`` field) paid the job's cap: fixed price was
the only price then. The cap of a later attempt is the price of the attempt before, since the
chain keeps the price a first claim fixed as the job's reward when it reopens.

The claim credits the submitter ``cap - price`` in the same transaction, *before* ``JobClaimed``,
so ``ledger.classify_credit`` saw no context for it; this handler books that payout as the job's
refund once the claim names it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace_api.dispute_models import Payout
from marketplace_api.indexer.records import EventRecord
from marketplace_api.market_models import Claim
from marketplace_api.models import Job


def claim_row(args: dict[str, Any], cap: int, job: Job) -> dict[str, Any]:
    """The ``claims`` columns of one ``JobClaimed`` (shared with the 0006 backfill)."""
    price = args.get("price")
    return {
        "job_id": int(args["job_id"]),
        "attempt": int(args["attempt"]),
        "solver": str(args["solver"]),
        "price": str(int(price) if price is not None else cap),
        "cap": str(cap),
        "spec_hash": job.spec_hash,
        "steps": job.steps,
    }


def job_claimed(session: Session, r: EventRecord, job: Job) -> None:
    earlier = session.scalars(
        select(Claim)
        .where(Claim.job_id == job.job_id, Claim.attempt < int(r.args["attempt"]))
        .order_by(Claim.attempt.desc())
        .limit(1)
    ).first()
    cap = int(earlier.price) if earlier is not None else int(job.reward)
    row = claim_row(r.args, cap, job)
    session.merge(
        Claim(**row, block_number=r.block_number, block_time=r.block_time, tx_hash=r.tx_hash)
    )
    _book_refund(session, r, job, cap - int(row["price"]))


def _book_refund(session: Session, r: EventRecord, job: Job, refund: int) -> None:
    if refund <= 0:
        return
    payout = session.scalars(
        select(Payout)
        .where(
            Payout.tx_hash == r.tx_hash,
            Payout.log_index < r.log_index,
            Payout.account == job.submitter,
            Payout.kind == "other",
            Payout.amount == str(refund),
        )
        .order_by(Payout.log_index.desc())
        .limit(1)
    ).first()
    if payout is not None:
        payout.kind, payout.job_id = "refund", job.job_id
