"""``/disputes``: challenges and their moves. Empty until the DisputeGame contract (issue 4) is
indexed; the shape is fixed now so clients and the dashboard need no change then."""

from __future__ import annotations

from fastapi import APIRouter

from marketplace_api.api.routes.common import Limit, Offset
from marketplace_api.schemas import DisputePublic

router = APIRouter(tags=["disputes"])


@router.get("/disputes", response_model=list[DisputePublic])
def list_disputes(limit: Limit = 50, offset: Offset = 0) -> list[DisputePublic]:
    return []
