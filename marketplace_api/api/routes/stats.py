"""Network statistics and health."""

from __future__ import annotations

from fastapi import APIRouter

from marketplace_api import crud, dispute_crud
from marketplace_api.api.deps import SessionDep, StateDep
from marketplace_api.schemas import Health, NetworkStats

router = APIRouter(tags=["network"])


def _head(state: StateDep) -> int | None:
    thread = state.indexer_thread
    return thread.indexer.stats.chain_head if thread is not None else None


@router.get("/stats", response_model=NetworkStats)
def network_stats(session: SessionDep, state: StateDep) -> NetworkStats:
    """Jobs by status, rewards posted and paid, stake, slashes, participants, disputes by
    outcome, indexer position."""
    return NetworkStats.model_validate(
        {
            **crud.network_stats(session),
            **dispute_crud.dispute_stats(session),
            "chain_head": _head(state),
        }
    )


@router.get("/health", response_model=Health)
def health(session: SessionDep, state: StateDep) -> Health:
    indexer = crud.indexer_state(session)
    thread = state.indexer_thread
    error = thread.last_error if thread is not None else None
    return Health(
        status="degraded" if error else "ok",
        indexed_block=indexer.next_block - 1 if indexer else None,
        chain_head=_head(state),
        indexer_error=error,
    )
