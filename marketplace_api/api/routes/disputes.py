"""``/disputes``: challenges and availability claims with their moves, jury rounds and payouts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from marketplace_api import dispute_crud
from marketplace_api.api.deps import SessionDep
from marketplace_api.api.routes.common import (
    MAX_DB_INT,
    AddressQuery,
    Limit,
    Offset,
    checksum,
    not_found,
)
from marketplace_api.api.routes.dispute_views import dispute_detail, disputes_public
from marketplace_api.dispute_schemas import DisputeDetail, DisputesPage

router = APIRouter(tags=["disputes"])
DisputeIdPath = Annotated[int, PathParam(ge=0, le=MAX_DB_INT, description="The dispute id.")]
JobIdQuery = Annotated[int | None, Query(ge=0, le=MAX_DB_INT, description="The on-chain job id.")]
Kind = Literal["segment", "initial_state", "availability"]
Phase = Literal["opening", "propose", "choose", "confirm", "jury", "resolved"]
Outcome = Literal["none", "solver_wrong", "challenger_wrong", "void"]


@router.get("/disputes", response_model=DisputesPage)
def list_disputes(
    session: SessionDep,
    job_id: JobIdQuery = None,
    kind: Kind | None = None,
    phase: Phase | None = None,
    outcome: Outcome | None = None,
    account: AddressQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
    order: Literal["newest", "oldest"] = "newest",
) -> DisputesPage:
    """Disputes, newest first; ``account`` matches either party; ``outcome=none`` the open ones."""
    rows, total = dispute_crud.list_disputes(
        session,
        job_id=job_id,
        kind=kind,
        phase=phase,
        outcome=outcome,
        account=checksum(account),
        limit=limit,
        offset=offset,
        newest_first=order == "newest",
    )
    return DisputesPage(
        items=disputes_public(session, rows), total=total, limit=limit, offset=offset
    )


@router.get("/disputes/{dispute_id}", response_model=DisputeDetail)
def get_dispute(dispute_id: DisputeIdPath, session: SessionDep) -> DisputeDetail:
    """One dispute: its moves in order, the jury rounds and votes, payouts and slashes."""
    row = dispute_crud.get_dispute(session, dispute_id=dispute_id)
    if row is None:
        raise not_found(f"dispute {dispute_id}")
    return dispute_detail(session, row)
