"""What every projection module shares: the handler type and the account row helpers."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from marketplace_api.indexer.records import EventRecord
from marketplace_api.models import Account

Handler = Callable[[Session, EventRecord], None]
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


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


def add_wei(current: str, delta: int) -> str:
    return str(int(current) + delta)
