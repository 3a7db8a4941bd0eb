"""Projections of ``RoundsMarket``'s events (docs/ROUNDS.md) into ``rounds_jobs`` and
``rounds_rounds``.

The units themselves are ``JobMarket`` jobs, projected by their own events; a round's row only
records which job ids are its units (``first_job_id + slot``), its deadline, and once closed the
slots its outer step included.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace_api.indexer.projections_base import Handler
from marketplace_api.indexer.records import EventRecord
from marketplace_api.rounds_models import RoundsJob, RoundsRound


def _round_index(args: dict[str, Any]) -> int:
    """The event's round number (the adapter may spell the field ``round`` or ``round_``)."""
    return int(args["round"] if "round" in args else args["round_"])


def _rounds_job(session: Session, r: EventRecord) -> RoundsJob | None:
    job = session.get(RoundsJob, int(r.args["rounds_id"]))
    if job is not None:
        job.updated_block = r.block_number
    return job


def _round(session: Session, r: EventRecord) -> RoundsRound | None:
    return session.get(RoundsRound, (int(r.args["rounds_id"]), _round_index(r.args)))


def rounds_job_posted(session: Session, r: EventRecord) -> None:
    a = r.args
    session.add(
        RoundsJob(
            rounds_id=int(a["rounds_id"]),
            status="running",
            submitter=a["submitter"],
            spec_hash=a["spec_hash"],
            workers=int(a["workers"]),
            rounds=int(a["rounds"]),
            quorum=int(a["quorum"]),
            unit_reward=str(a["unit_reward"]),
            unit_verifier_fee=str(a["unit_verifier_fee"]),
            current_round=0,
            refund="0",
            posted_block=r.block_number,
            posted_tx=r.tx_hash,
            updated_block=r.block_number,
        )
    )


def round_opened(session: Session, r: EventRecord) -> None:
    number = _round_index(r.args)
    session.add(
        RoundsRound(
            rounds_id=int(r.args["rounds_id"]),
            round=number,
            first_job_id=int(r.args["first_job_id"]),
            deadline=int(r.args["deadline"]),
            status="open",
            included_mask="0",
            reopened=0,
            opened_block=r.block_number,
        )
    )
    if (job := _rounds_job(session, r)) is not None:
        job.current_round = number


def round_closed(session: Session, r: EventRecord) -> None:
    if (row := _round(session, r)) is not None:
        row.status = "closed"
        row.included_mask = str(int(r.args["included_mask"]))
        row.closed_block = r.block_number
    _rounds_job(session, r)


def round_reopened(session: Session, r: EventRecord) -> None:
    if (row := _round(session, r)) is not None:
        row.deadline = int(r.args["deadline"])
        row.reopened += 1
    _rounds_job(session, r)


def rounds_job_finished(session: Session, r: EventRecord) -> None:
    if (job := _rounds_job(session, r)) is not None:
        job.status = "finished"


def rounds_job_cancelled(session: Session, r: EventRecord) -> None:
    if (job := _rounds_job(session, r)) is not None:
        job.status = "cancelled"
        job.refund = str(int(r.args["refund"]))


ROUNDS_HANDLERS: dict[str, Handler] = {
    "RoundsJobPosted": rounds_job_posted,
    "RoundOpened": round_opened,
    "RoundClosed": round_closed,
    "RoundReopened": round_reopened,
    "RoundsJobFinished": rounds_job_finished,
    "RoundsJobCancelled": rounds_job_cancelled,
}
