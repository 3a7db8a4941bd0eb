"""Solvers, verifiers and single accounts: stake, earnings, slashes (the leaderboards' source)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from marketplace_api import crud, dispute_crud
from marketplace_api.api.deps import SessionDep
from marketplace_api.api.routes.common import AddressPath, Limit, Offset, checksum, not_found
from marketplace_api.api.routes.dispute_views import ledger_public
from marketplace_api.dispute_schemas import AccountLedger
from marketplace_api.models import Account
from marketplace_api.schemas import AccountPublic, AccountsPage

router = APIRouter(tags=["accounts"])


def _public(session: SessionDep, rows: Sequence[Account]) -> list[AccountPublic]:
    """Accounts with their earnings and slashes by kind (one ledger query per page)."""
    sums = dispute_crud.breakdowns(session, [r.address for r in rows])
    return [
        AccountPublic.model_validate(r).model_copy(
            update={"earnings": sums[r.address][0], "slashes": sums[r.address][1]}
        )
        for r in rows
    ]


def _page(session: SessionDep, role: str, limit: int, offset: int) -> AccountsPage:
    rows, total = crud.list_accounts(session, role=role, limit=limit, offset=offset)
    return AccountsPage(
        items=_public(session, rows),
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/solvers", response_model=AccountsPage)
def list_solvers(session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> AccountsPage:
    """Accounts that claimed a job, by earnings (rewards and bond shares), with slashes."""
    return _page(session, "solver", limit, offset)


@router.get("/verifiers", response_model=AccountsPage)
def list_verifiers(session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> AccountsPage:
    """Staked accounts that never claimed a job, by earnings (attestation fees, jackpots, jury
    fees), then attestations and stake."""
    return _page(session, "verifier", limit, offset)


@router.get("/accounts/{address}", response_model=AccountPublic)
def get_account(address: AddressPath, session: SessionDep) -> AccountPublic:
    account = crud.get_account(session, address=str(checksum(address)))
    if account is None:
        raise not_found(f"account {address}")
    return _public(session, [account])[0]


@router.get("/accounts/{address}/ledger", response_model=AccountLedger)
def get_account_ledger(address: AddressPath, session: SessionDep) -> AccountLedger:
    """Every payout and slash of one account, in chain order, each with why."""
    payouts, slashes = dispute_crud.ledger(session, account=str(checksum(address)))
    return AccountLedger(payouts=ledger_public(payouts), slashes=ledger_public(slashes))
