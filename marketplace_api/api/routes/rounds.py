"""``/rounds``: rounds jobs (docs/ROUNDS.md) and the rounds-by-slots grid of one, with the loss per
round read from the units' committed manifests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi import Path as PathParam

from marketplace_api import rounds_crud
from marketplace_api.api.deps import SessionDep, StateDep
from marketplace_api.api.routes.common import (
    MAX_DB_INT,
    AddressQuery,
    Limit,
    Offset,
    checksum,
    load_manifest,
    not_found,
    spec_address,
)
from marketplace_api.api.state import AppState
from marketplace_api.models import Job
from marketplace_api.rounds_models import RoundsJob, RoundsRound
from marketplace_api.rounds_schemas import (
    RoundPublic,
    RoundsJobDetail,
    RoundsJobPublic,
    RoundsPage,
    UnitPublic,
)

router = APIRouter(prefix="/rounds", tags=["rounds"])
RoundsStatus = Literal["running", "finished", "cancelled"]
RoundsIdPath = Annotated[
    int, PathParam(ge=1, le=MAX_DB_INT, description="The RoundsMarket rounds job id.")
]


@router.get("", response_model=RoundsPage)
def list_rounds(
    session: SessionDep,
    status: RoundsStatus | None = None,
    submitter: AddressQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RoundsPage:
    """Rounds jobs, newest first; ``total`` counts every rounds job matching the filters."""
    rows, total = rounds_crud.list_rounds_jobs(
        session, status=status, submitter=checksum(submitter), limit=limit, offset=offset
    )
    return RoundsPage(
        items=[rounds_public(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{rounds_id}", response_model=RoundsJobDetail)
def get_rounds(rounds_id: RoundsIdPath, session: SessionDep, state: StateDep) -> RoundsJobDetail:
    """One rounds job and its grid: per opened round, each slot's unit job (solver, state,
    revealed attestations, disputes, convicted solvers, whether the outer step included it, final
    loss), and the round's mean loss."""
    job = rounds_crud.get_rounds_job(session, rounds_id=rounds_id)
    if job is None:
        raise not_found(f"rounds job {rounds_id}")
    rounds = rounds_crud.rounds_of(session, rounds_id=rounds_id)
    job_ids = [r.first_job_id + w for r in rounds for w in range(job.workers)]
    units = rounds_crud.unit_jobs(session, job_ids=job_ids)
    attestations = rounds_crud.revealed_attestations(session, jobs=list(units.values()))
    disputes = rounds_crud.disputes_of(session, job_ids=job_ids)
    grid = []
    for row in rounds:
        cells = []
        for slot in range(job.workers):
            job_id = row.first_job_id + slot
            unit = units.get(job_id)
            cells.append(
                _unit(
                    slot,
                    job_id,
                    unit,
                    row,
                    attestations.get(job_id, 0),
                    [(d.outcome, d.solver) for d in disputes.get(job_id, [])],
                    state,
                )
            )
        grid.append(_round(row, cells))
    return RoundsJobDetail(**rounds_public(job).model_dump(), grid=grid)


def rounds_public(job: RoundsJob) -> RoundsJobPublic:
    escrow = job.workers * job.rounds * (int(job.unit_reward) + int(job.unit_verifier_fee))
    return RoundsJobPublic(
        rounds_id=job.rounds_id,
        status=job.status,
        submitter=job.submitter,
        spec_hash=job.spec_hash,
        spec_address=spec_address(job.spec_hash),
        workers=job.workers,
        rounds=job.rounds,
        quorum=job.quorum,
        unit_reward=job.unit_reward,
        unit_verifier_fee=job.unit_verifier_fee,
        escrow=str(escrow),
        current_round=job.current_round,
        refund=job.refund,
        posted_block=job.posted_block,
        posted_tx=job.posted_tx,
        updated_block=job.updated_block,
    )


def included_slots(mask: int, workers: int) -> list[int]:
    return [w for w in range(workers) if mask >> w & 1]


def _unit(
    slot: int,
    job_id: int,
    job: Job | None,
    row: RoundsRound,
    attestations: int,
    disputes: Sequence[tuple[str, str]],
    state: AppState,
) -> UnitPublic:
    loss, validation = _final_losses(job, state) if job is not None else (None, None)
    closed = row.status == "closed"
    return UnitPublic(
        slot=slot,
        job_id=job_id,
        status=job.status if job is not None else "unposted",
        solver=job.solver if job is not None else None,
        attempt=job.attempt if job is not None else 0,
        attestations=attestations,
        disputes=len(disputes),
        convicted=[solver for outcome, solver in disputes if outcome == "solver_wrong"],
        included=bool(int(row.included_mask) >> slot & 1) if closed else None,
        loss=loss,
        validation_loss=validation,
    )


def _round(row: RoundsRound, units: list[UnitPublic]) -> RoundPublic:
    closed = row.status == "closed"
    counted = [
        u for u in units if (u.included if closed else u.status in ("committed", "finalized"))
    ]
    return RoundPublic(
        round=row.round,
        status=row.status,
        first_job_id=row.first_job_id,
        deadline=row.deadline,
        reopened=row.reopened,
        included=included_slots(int(row.included_mask), len(units)),
        loss=_mean([u.loss for u in counted]),
        validation_loss=_mean([u.validation_loss for u in counted]),
        units=units,
    )


def _final_losses(job: Job, state: AppState) -> tuple[float | None, float | None]:
    if job.manifest_hash is None:
        return None, None
    path = state.blobs.path(spec_address(job.manifest_hash))
    manifest = load_manifest(path) if path.is_file() else None
    if manifest is None:
        return None, None
    loss = manifest.losses[-1] if manifest.losses else None
    validation = manifest.checkpoints[-1].validation_loss if manifest.checkpoints else None
    return loss, validation


def _mean(values: Sequence[float | None]) -> float | None:
    """The mean of the known, finite values; None when a value is missing (a partial mean would
    mislead)."""
    if not values or any(v is None or not math.isfinite(v) for v in values):
        return None
    return sum(v for v in values if v is not None) / len(values)
