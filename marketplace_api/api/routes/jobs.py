"""``/jobs``: the job list (filters, pagination; cached) and the job detail (trace, loss curve)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from marketplace_api import crud, dispute_crud, market_crud
from marketplace_api.api.deps import SessionDep, StateDep
from marketplace_api.api.routes.common import (
    AddressQuery,
    JobIdPath,
    Limit,
    Offset,
    checksum,
    event_public,
    job_public,
    load_json_blob,
    load_manifest,
    not_found,
    spec_address,
)
from marketplace_api.api.routes.dispute_views import disputes_public
from marketplace_api.api.state import AppState
from marketplace_api.dispute_schemas import AttestationPublic
from marketplace_api.market_schemas import JobClaimPublic
from marketplace_api.models import Job
from marketplace_api.schemas import EventPublic, JobDetail, JobsPage, LossPoint, TraceSummary

router = APIRouter(prefix="/jobs", tags=["jobs"])
Status = Literal["open", "claimed", "committed", "finalized", "cancelled"]
MAX_CURVE_POINTS = 1_000


@router.get("", response_model=JobsPage)
async def list_jobs(
    request: Request,
    state: StateDep,
    status: Status | None = None,
    submitter: AddressQuery = None,
    solver: AddressQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
    order: Literal["newest", "oldest"] = "newest",
) -> Response:
    """Jobs, newest first by default; ``total`` counts every job matching the filters."""
    key = str(request.url.query)
    body = state.cache.get(key)
    if body is None:
        generation = state.cache.generation

        def query() -> bytes:
            with state.sessions() as session:
                rows, total = crud.list_jobs(
                    session,
                    status=status,
                    submitter=checksum(submitter),
                    solver=checksum(solver),
                    limit=limit,
                    offset=offset,
                    newest_first=order == "newest",
                )
                page = JobsPage(
                    items=[job_public(r) for r in rows], total=total, limit=limit, offset=offset
                )
            return page.model_dump_json().encode()

        body = await run_in_threadpool(query)
        state.cache.put(key, body, generation)
    return Response(body, media_type="application/json")


@router.get("/{job_id}", response_model=JobDetail)
def get_job(job_id: JobIdPath, session: SessionDep, state: StateDep) -> JobDetail:
    """One job: state, trace summary, loss curve and validation loss per checkpoint (from the
    committed manifest blob, when the API holds it), spec, attestations, disputes and its event
    timeline."""
    job = crud.get_job(session, job_id=job_id)
    if job is None:
        raise not_found(f"job {job_id}")
    trace, curve, validation = _trace(job, state)
    spec = load_json_blob(state.blobs.path(spec_address(job.spec_hash)))
    events = [event_public(e) for e in crud.job_events(session, job_id=job_id)]
    return JobDetail(
        **job_public(job).model_dump(),
        trace=trace,
        loss_curve=curve,
        validation_curve=validation,
        spec=spec,
        attestations=[
            AttestationPublic.model_validate(a)
            for a in dispute_crud.job_attestations(session, job_id=job_id)
        ],
        disputes=disputes_public(
            session, dispute_crud.list_disputes(session, job_id=job_id, limit=1_000)[0]
        ),
        events=events,
        claims=[
            JobClaimPublic.model_validate(c) for c in market_crud.job_claims(session, job_id=job_id)
        ],
    )


@router.get("/{job_id}/events", response_model=list[EventPublic])
def get_job_events(job_id: JobIdPath, session: SessionDep) -> list[EventPublic]:
    """Every indexed event of one job, in chain order (the dispute timeline's source)."""
    if crud.get_job(session, job_id=job_id) is None:
        raise not_found(f"job {job_id}")
    return [event_public(e) for e in crud.job_events(session, job_id=job_id)]


def _trace(
    job: Job, state: AppState
) -> tuple[TraceSummary | None, list[LossPoint], list[LossPoint]]:
    if job.manifest_hash is None:
        return None, [], []
    address = spec_address(job.manifest_hash)
    path = state.blobs.path(address)
    manifest = load_manifest(path) if path.is_file() else None
    losses = manifest.losses if manifest is not None else []
    stride = max(1, -(-len(losses) // MAX_CURVE_POINTS))
    curve = [LossPoint(step=i + 1, loss=losses[i]) for i in range(0, len(losses), stride)]
    if losses and (len(losses) - 1) % stride:
        curve.append(LossPoint(step=len(losses), loss=losses[-1]))
    checkpoints = manifest.checkpoints if manifest is not None else []
    validation = [
        LossPoint(step=c.step, loss=c.validation_loss)
        for c in checkpoints
        if c.validation_loss is not None
    ]
    summary = TraceSummary(
        state_root=job.state_root or "",
        seg_roots_root=job.seg_roots_root or "",
        final_state_hash=job.final_state_hash or "",
        manifest_hash=job.manifest_hash,
        manifest_address=address,
        manifest_available=manifest is not None,
        checkpoints=len(manifest.checkpoints) if manifest is not None else None,
        segments=job.steps // job.checkpoint_every if job.checkpoint_every else 0,
        final_loss=losses[-1] if losses else None,
        final_validation_loss=validation[-1].loss if validation else None,
    )
    return summary, curve, validation
