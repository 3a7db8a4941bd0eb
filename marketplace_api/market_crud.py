"""Queries of the market view: open jobs, claims (clearing prices) and a solver's recounted
track record."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace_api.market_models import Claim
from marketplace_api.models import Event, Job, Spec


def open_jobs(session: Session) -> Sequence[Job]:
    return session.scalars(select(Job).where(Job.status == "open").order_by(Job.job_id)).all()


def list_claims(
    session: Session, *, solver: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[Sequence[Claim], int]:
    """Claims newest first (chain order), and how many match."""
    query = select(Claim)
    counter = select(func.count()).select_from(Claim)
    if solver is not None:
        query = query.where(Claim.solver == solver)
        counter = counter.where(Claim.solver == solver)
    order = (Claim.block_number.desc(), Claim.job_id.desc(), Claim.attempt.desc())
    rows = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
    return rows, int(session.scalar(counter) or 0)


def job_claims(session: Session, *, job_id: int) -> Sequence[Claim]:
    return session.scalars(
        select(Claim).where(Claim.job_id == job_id).order_by(Claim.attempt)
    ).all()


def job_statuses(session: Session, job_ids: Sequence[int]) -> dict[int, str]:
    if not job_ids:
        return {}
    rows = session.execute(select(Job.job_id, Job.status).where(Job.job_id.in_(set(job_ids))))
    return {job_id: status for job_id, status in rows}


def spec_json(session: Session, address: str) -> str | None:
    """The canonical JSON of a spec stored through ``POST /specs``."""
    return session.scalar(select(Spec.canonical_json).where(Spec.address == address))


def recounted_record(session: Session, solver: str) -> tuple[int, int, int, int]:
    """(finalized, value, frauds, timeouts) counted from the indexed ``JobMarket`` events: what
    ``recordOf`` must say once the indexer has caught up."""
    finalized = value = frauds = timeouts = 0
    rows = session.execute(
        select(Event.name, Event.args).where(
            Event.contract == "JobMarket",
            Event.account == solver,
            Event.name.in_(("JobFinalized", "JobReopened", "JobSolveTimedOut")),
        )
    )
    for name, args in rows:
        if args.get("solver") != solver:
            continue
        if name == "JobFinalized":
            finalized += 1
            value += int(args["reward"])
        elif name == "JobReopened":
            frauds += 1
        else:
            timeouts += 1
    return finalized, value, frauds, timeouts
