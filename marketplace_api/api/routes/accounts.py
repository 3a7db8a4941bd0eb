"""Solvers, verifiers and single accounts: stake, earnings, slashes (the leaderboards' source)."""

from __future__ import annotations

from fastapi import APIRouter

from marketplace_api import crud
from marketplace_api.api.deps import SessionDep
from marketplace_api.api.routes.common import AddressPath, Limit, Offset, checksum, not_found
from marketplace_api.schemas import AccountPublic, AccountsPage

router = APIRouter(tags=["accounts"])


def _page(session: SessionDep, role: str, limit: int, offset: int) -> AccountsPage:
    rows, total = crud.list_accounts(session, role=role, limit=limit, offset=offset)
    return AccountsPage(
        items=[AccountPublic.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/solvers", response_model=AccountsPage)
def list_solvers(session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> AccountsPage:
    """Accounts that claimed a job, by rewards earned."""
    return _page(session, "solver", limit, offset)


@router.get("/verifiers", response_model=AccountsPage)
def list_verifiers(session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> AccountsPage:
    """Staked accounts that never claimed a job, by attestations then stake."""
    return _page(session, "verifier", limit, offset)


@router.get("/accounts/{address}", response_model=AccountPublic)
def get_account(address: AddressPath, session: SessionDep) -> AccountPublic:
    account = crud.get_account(session, address=str(checksum(address)))
    if account is None:
        raise not_found(f"account {address}")
    return AccountPublic.model_validate(account)
