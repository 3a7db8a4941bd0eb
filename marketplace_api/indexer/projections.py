"""Projections: how each event changes the ``jobs`` and ``accounts`` rows, one handler per event
(the verification contracts' handlers live in ``attestations`` and ``disputes``, payouts and
slashes in ``ledger``).

The table ``HANDLERS`` maps event names to pure-ish functions of (session, record). Events with no
handler are stored and shown in timelines but change no projection. Handlers must be
deterministic functions of the event stream, since a reorg rebuild replays them from the table.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace_api.indexer import claims, ledger
from marketplace_api.indexer.attestations import ATTESTATION_HANDLERS
from marketplace_api.indexer.disputes import DISPUTE_HANDLERS
from marketplace_api.indexer.projections_base import Handler, account_row, add_wei
from marketplace_api.indexer.records import EventRecord
from marketplace_api.indexer.rounds import ROUNDS_HANDLERS
from marketplace_api.models import Job


def _job(session: Session, record: EventRecord) -> Job | None:
    job_id = record.job_id
    job = session.get(Job, job_id) if job_id is not None else None
    if job is not None:
        job.updated_block = record.block_number
    return job


_add = add_wei


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
        claims.job_claimed(session, r, job)
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


def _reopen(session: Session, r: EventRecord) -> None:
    """The job is open again as a new attempt: no solver, no lock, no commitment, no dispute."""
    if (job := _job(session, r)) is not None:
        job.status = "open"
        job.solver = None
        job.attempt = int(r.args["new_attempt"])
        job.locked_stake = "0"
        job.open_disputes = 0
        job.deadline = 0
        for field in ("state_root", "seg_roots_root", "final_state_hash", "manifest_hash"):
            setattr(job, field, None)


def job_solve_timed_out(session: Session, r: EventRecord) -> None:
    _reopen(session, r)
    account_row(session, r.args["solver"], r.block_number).jobs_timed_out += 1
    ledger.slash(session, r, r.args["solver"], "solve_timeout", int(r.args["burned"]))


def job_finalized(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.status = "finalized"
        job.locked_stake = "0"
    account_row(session, r.args["solver"], r.block_number).jobs_finalized += 1


def job_frozen(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.open_disputes = int(r.args["open_disputes"])


def job_unfrozen(session: Session, r: EventRecord) -> None:
    if (job := _job(session, r)) is not None:
        job.open_disputes = int(r.args["open_disputes"])
        job.deadline = int(r.args["challenge_deadline"])


def job_reopened(session: Session, r: EventRecord) -> None:
    _reopen(session, r)
    account_row(session, r.args["solver"], r.block_number).jobs_reopened += 1
    ledger.fraud_slash(session, r)


def job_aborted(session: Session, r: EventRecord) -> None:
    """A dataset claim was upheld: the job reopens, the solver's lock is released (no slash)."""
    _reopen(session, r)


def credited(session: Session, r: EventRecord) -> None:
    account = account_row(session, r.args["account"], r.block_number)
    account.credited = _add(account.credited, int(r.args["amount"]))
    ledger.classify_credit(session, r, account)


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


def stake_burned(session: Session, r: EventRecord) -> None:
    """A burn removes stake like a slash; a challenger's burn right after its dispute's resolution
    is the challenge fee, booked as such in the slash ledger."""
    stake_removed(session, r)
    ledger.challenge_fee(session, r)


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
    "JobAborted": job_aborted,
    "Credited": credited,
    "CreditWithdrawn": credit_withdrawn,
    "Staked": staked,
    "UnstakeRequested": unstake_requested,
    "Withdrawn": withdrawn,
    "StakeLocked": stake_locked,
    "StakeUnlocked": stake_unlocked,
    "StakeSlashed": stake_removed,
    "StakeBurned": stake_burned,
    **ATTESTATION_HANDLERS,
    **DISPUTE_HANDLERS,
    **ROUNDS_HANDLERS,
}


def apply(session: Session, record: EventRecord) -> None:
    """Run the record's handler, if it has one."""
    handler = HANDLERS.get(record.name)
    if handler is not None:
        handler(session, record)
