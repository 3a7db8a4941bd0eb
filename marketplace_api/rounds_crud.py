"""Keyword-only queries over the rounds projections (``rounds_models``) and the unit jobs' rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace_api.dispute_models import Attestation, Dispute
from marketplace_api.models import Job
from marketplace_api.rounds_models import RoundsJob, RoundsRound

ROUNDS_STATUSES = ("running", "finished", "cancelled")


def list_rounds_jobs(
    session: Session,
    *,
    status: str | None = None,
    submitter: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[RoundsJob], int]:
    """A page of rounds jobs, newest first, and the total matching the filters."""
    query = select(RoundsJob)
    counter = select(func.count()).select_from(RoundsJob)
    for column, value in ((RoundsJob.status, status), (RoundsJob.submitter, submitter)):
        if value is not None:
            query = query.where(column == value)
            counter = counter.where(column == value)
    rows = session.scalars(
        query.order_by(RoundsJob.rounds_id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, int(session.scalar(counter) or 0)


def get_rounds_job(session: Session, *, rounds_id: int) -> RoundsJob | None:
    return session.get(RoundsJob, rounds_id)


def rounds_of(session: Session, *, rounds_id: int) -> Sequence[RoundsRound]:
    return session.scalars(
        select(RoundsRound).where(RoundsRound.rounds_id == rounds_id).order_by(RoundsRound.round)
    ).all()


def unit_jobs(session: Session, *, job_ids: Sequence[int]) -> dict[int, Job]:
    if not job_ids:
        return {}
    return {job.job_id: job for job in session.scalars(select(Job).where(Job.job_id.in_(job_ids)))}


def revealed_attestations(session: Session, *, jobs: Sequence[Job]) -> dict[int, int]:
    """Revealed attestations of each job's current attempt."""
    counts: dict[int, int] = defaultdict(int)
    attempts = {job.job_id: job.attempt for job in jobs}
    if not attempts:
        return counts
    rows = session.execute(
        select(Attestation.job_id, Attestation.attempt).where(
            Attestation.job_id.in_(list(attempts)), Attestation.revealed.is_(True)
        )
    )
    for job_id, attempt in rows:
        if attempts[job_id] == attempt:
            counts[job_id] += 1
    return counts


def disputes_of(session: Session, *, job_ids: Sequence[int]) -> dict[int, list[Dispute]]:
    out: dict[int, list[Dispute]] = defaultdict(list)
    if not job_ids:
        return out
    rows = session.scalars(
        select(Dispute).where(Dispute.job_id.in_(list(job_ids))).order_by(Dispute.dispute_id)
    )
    for dispute in rows:
        out[dispute.job_id].append(dispute)
    return out
