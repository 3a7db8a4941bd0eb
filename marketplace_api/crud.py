"""Keyword-only queries and writes over the models; routes and the indexer share them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from marketplace_api.models import Account, Blob, Event, IndexerState, Job, Spec, UploadNonce

JOB_STATUSES = ("open", "claimed", "committed", "finalized", "cancelled")


def list_jobs(
    session: Session,
    *,
    status: str | None = None,
    submitter: str | None = None,
    solver: str | None = None,
    limit: int = 50,
    offset: int = 0,
    newest_first: bool = True,
) -> tuple[Sequence[Job], int]:
    """A page of jobs and the total matching the filters (addresses compare case-insensitively)."""
    query = select(Job)
    counter = select(func.count()).select_from(Job)
    for column, value in ((Job.status, status), (Job.submitter, submitter), (Job.solver, solver)):
        if value is not None:
            query = query.where(column == value)
            counter = counter.where(column == value)
    order = Job.job_id.desc() if newest_first else Job.job_id.asc()
    rows = session.scalars(query.order_by(order).limit(limit).offset(offset)).all()
    return rows, int(session.scalar(counter) or 0)


def get_job(session: Session, *, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def job_events(session: Session, *, job_id: int) -> Sequence[Event]:
    return session.scalars(
        select(Event).where(Event.job_id == job_id).order_by(Event.block_number, Event.log_index)
    ).all()


def list_accounts(
    session: Session, *, role: str, limit: int = 50, offset: int = 0
) -> tuple[list[Account], int]:
    """Solvers (claimed a job) by earnings, or verifiers (staked, never claimed) by earnings,
    attestations, then stake.

    Wei columns are decimal strings, so ranking happens here rather than in SQL; the account set
    is small next to the job set.
    """
    if role == "solver":
        rows = list(session.scalars(select(Account).where(Account.jobs_claimed > 0)))
        rows.sort(key=lambda a: (int(a.earned), a.jobs_finalized, a.address), reverse=True)
    else:
        rows = [
            a
            for a in session.scalars(select(Account).where(Account.jobs_claimed == 0))
            if int(a.staked) > 0 or a.attestations or a.challenges
        ]
        rows.sort(
            key=lambda a: (int(a.earned), a.attestations, int(a.staked), a.address), reverse=True
        )
    return rows[offset : offset + limit], len(rows)


def get_account(session: Session, *, address: str) -> Account | None:
    return session.get(Account, address)


def indexer_state(session: Session) -> IndexerState | None:
    return session.get(IndexerState, 1)


def network_stats(session: Session) -> dict[str, object]:
    by_status = {status: 0 for status in JOB_STATUSES}
    for status, count in session.execute(select(Job.status, func.count()).group_by(Job.status)):
        by_status[str(status)] = int(count)
    posted = sum(int(r) for r in session.scalars(select(Job.reward)))
    paid = sum(int(r) for r in session.scalars(select(Job.reward).where(Job.status == "finalized")))
    accounts = list(session.scalars(select(Account)))
    state = indexer_state(session)
    return {
        "jobs_total": sum(by_status.values()),
        "jobs_by_status": by_status,
        "reward_posted": str(posted),
        "reward_paid": str(paid),
        "total_staked": str(sum(int(a.staked) for a in accounts)),
        "total_slashed": str(sum(int(a.slashed) for a in accounts)),
        "accounts": len(accounts),
        "solvers": sum(1 for a in accounts if a.jobs_claimed > 0),
        "verifiers": sum(1 for a in accounts if a.jobs_claimed == 0 and int(a.staked) > 0),
        "events_indexed": int(session.scalar(select(func.count()).select_from(Event)) or 0),
        "indexed_block": state.next_block - 1 if state else None,
        "reorgs": state.reorgs if state else 0,
    }


# --- blobs and specs ---


def get_blob(session: Session, *, address: str) -> Blob | None:
    return session.get(Blob, address)


def used_quota(session: Session, *, uploader: str) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.uploader == uploader)
        )
        or 0
    )


def lock_uploader(session: Session, *, uploader: str) -> None:
    """Serialize quota checks of one uploader until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock keyed by the address. SQLite: the write that
    starts the transaction takes the database's single writer lock, so nothing is needed here —
    a no-op write would only lengthen the lock.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(uploader.lower().encode(), digest_size=8).digest())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - (1 << 63)})


def is_staked(session: Session, *, address: str) -> bool:
    account = session.get(Account, address)
    return account is not None and int(account.staked) > 0


def nonce_used(session: Session, *, signer: str, nonce: str) -> bool:
    return session.get(UploadNonce, (signer, nonce)) is not None


def record_upload(
    session: Session, *, address: str, size: int, uploader: str, nonce: str, expiry: int, now: int
) -> None:
    """Spend the nonce and record the blob (the caller commits both or neither)."""
    session.query(UploadNonce).filter(UploadNonce.expiry < now).delete()
    session.add(UploadNonce(signer=uploader, nonce=nonce, expiry=expiry))
    if session.get(Blob, address) is None:
        session.add(Blob(address=address, size=size, uploader=uploader))


def save_spec(
    session: Session, *, address: str, architecture: str, runtime: str, steps: int, canonical: str
) -> None:
    if session.get(Spec, address) is None:
        session.add(
            Spec(
                address=address,
                architecture=architecture,
                runtime=runtime,
                steps=steps,
                canonical_json=canonical,
            )
        )
    if session.get(Blob, address) is None:
        session.add(Blob(address=address, size=len(canonical.encode()), uploader=None))
