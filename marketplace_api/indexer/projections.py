"""Projections: how each event changes the ``jobs`` and ``accounts`` rows, one handler per event.

The table ``HANDLERS`` maps event names to pure-ish functions of (session, record). Events with no
handler are stored and shown in timelines but change no projection. Handlers must be
deterministic functions of the event stream, since a reorg rebuild replays them from the table.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from marketplace_api.indexer.records import EventRecord
from marketplace_api.models import Account, Job

Handler = Callable[[Session, EventRecord], None]


def _job(session: Session, record: EventRecord) -> Job | None:
    job_id = record.job_id
    job = session.get(Job, job_id) if job_id is not None else None
    if job is not None:
        job.updated_block = record.block_number
    return job


def account_row(session: Session, address: str, block: int) -> Account:
    """The account row of ``address``, created (all zero) on first sight."""
    account = session.get(Account, address)
    if account is None:
        account = Account(
            address=address,
            staked="0",
            locked="0",
            unbonding="0",
            slashed="0",
            earned="0",
            credited="0",
            withdrawn="0",
            jobs_posted=0,
            jobs_claimed=0,
            jobs_finalized=0,
            jobs_timed_out=0,
            jobs_reopened=0,
            attestations=0,
            challenges=0,
        )
        session.add(account)
    account.updated_block = block
    return account


def _add(current: str, delta: int) -> str:
    return str(int(current) + delta)


def job_posted(session: Session, r: EventRecord) -> None:
    a = r.args
    session.add(
        Job(
            job_id=int(a["job_id"]),
            status="open",
            submitter=a["submitter"],
            solver=None,
            spec_hash=a["spec_hash"],
            reward=str(a["reward"]),
            verifier_fee=str(a["verifier_fee"]),
            steps=int(a["steps"]),
            checkpoint_every=int(a["checkpoint_every"]),
            solve_timeout=int(a["solve_timeout"]),
            sample_rate_bps=int(a["sample_rate_bps"]),
            attempt=0,
            locked_stake="0",
            deadline=0,
            open_disputes=0,
            posted_block=r.block_number,
            posted_tx=r.tx_hash,
            updated_block=r.block_number,
        )
    )
    account_row(session, a["submitter"], r.block_number).jobs_posted += 1


def job_cancelled(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.status = "cancelled"


def job_claimed(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.status = "claimed"
        job.solver = r.args["solver"]
        job.attempt = int(r.args["attempt"])
        job.locked_stake = str(r.args["locked_stake"])
        job.deadline = int(r.args["solve_deadline"])
    account_row(session, r.args["solver"], r.block_number).jobs_claimed += 1


def job_committed(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.status = "committed"
        job.attempt = int(r.args["attempt"])
        job.state_root = r.args["state_root"]
        job.seg_roots_root = r.args["seg_roots_root"]
        job.final_state_hash = r.args["final_state_hash"]
        job.manifest_hash = r.args["manifest_hash"]
        job.deadline = int(r.args["challenge_deadline"])


def job_solve_timed_out(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.status = "open"
        job.solver = None
        job.attempt = int(r.args["new_attempt"])
        job.locked_stake = "0"
        job.deadline = 0
    account_row(session, r.args["solver"], r.block_number).jobs_timed_out += 1


def job_finalized(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.status = "finalized"
        job.locked_stake = "0"
    solver = account_row(session, r.args["solver"], r.block_number)
    solver.jobs_finalized += 1
    solver.earned = _add(solver.earned, int(r.args["reward"]))


def job_frozen(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.open_disputes = int(r.args["open_disputes"])


def job_unfrozen(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.open_disputes = int(r.args["open_disputes"])
        job.deadline = int(r.args["challenge_deadline"])


def job_reopened(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.status = "open"
        job.solver = None
        job.attempt = int(r.args["new_attempt"])
        job.locked_stake = "0"
        job.open_disputes = 0
        job.deadline = 0
        for field in ("state_root", "seg_roots_root", "final_state_hash", "manifest_hash"):
            setattr(job, field, None)
    account_row(session, r.args["solver"], r.block_number).jobs_reopened += 1


def credited(session: Session, r: EventRecord) -> None:
    account = account_row(session, r.args["account"], r.block_number)
    account.credited = _add(account.credited, int(r.args["amount"]))


def credit_withdrawn(session: Session, r: EventRecord) -> None:
    account = account_row(session, r.args["account"], r.block_number)
    account.withdrawn = _add(account.withdrawn, int(r.args["amount"]))


def staked(session: Session, r: EventRecord) -> None:
    account = account_row(session, r.args["account"], r.block_number)
    account.staked = str(r.args["total_staked"])


def unstake_requested(session: Session, r: EventRecord) -> None:
    account = account_row(session, r.args["account"], r.block_number)
    amount = int(r.args["amount"])
    account.staked = _add(account.staked, -amount)
    account.unbonding = _add(account.unbonding, amount)


def withdrawn(session: Session, r: EventRecord) -> None:
    account = account_row(session, r.args["account"], r.block_number)
    account.unbonding = str(max(0, int(account.unbonding) - int(r.args["amount"])))


def stake_locked(session: Session, r: EventRecord) -> None:
    account = account_row(session, r.args["account"], r.block_number)
    account.locked = _add(account.locked, int(r.args["amount"]))


def stake_unlocked(session: Session, r: EventRecord) -> None:
    account = account_row(session, r.args["account"], r.block_number)
    account.locked = _add(account.locked, -int(r.args["amount"]))


def stake_removed(session: Session, r: EventRecord) -> None:
    """Slash or burn: locked stake leaves the account (the registry lowers staked and locked)."""
    account = account_row(session, r.args["account"], r.block_number)
    amount = int(r.args["amount"])
    account.staked = _add(account.staked, -amount)
    account.locked = _add(account.locked, -amount)
    account.slashed = _add(account.slashed, amount)


HANDLERS: dict[str, Handler] = {
    "JobPosted": job_posted,
    "JobCancelled": job_cancelled,
    "JobClaimed": job_claimed,
    "JobCommitted": job_committed,
    "JobSolveTimedOut": job_solve_timed_out,
    "JobFinalized": job_finalized,
    "JobFrozen": job_frozen,
    "JobUnfrozen": job_unfrozen,
    "JobReopened": job_reopened,
    "Credited": credited,
    "CreditWithdrawn": credit_withdrawn,
    "Staked": staked,
    "UnstakeRequested": unstake_requested,
    "Withdrawn": withdrawn,
    "StakeLocked": stake_locked,
    "StakeUnlocked": stake_unlocked,
    "StakeSlashed": stake_removed,
    "StakeBurned": stake_removed,
}


def apply(session: Session, record: EventRecord) -> None:
    """Run the record's handler, if it has one."""
    handler = HANDLERS.get(record.name)
    if handler is not None:
        handler(session, record)
