"""Projection of the auction's claims (docs/MARKET.md, "Market view"): one row per ``JobClaimed``.

The price a claim fixed is the market's clearing price for that job; the rows are the source of
``GET /market/clearing`` and of a solver's claim history. Like every projection they are a
deterministic function of the ``events`` table, rebuilt from it after a reorg.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace_api.models import ADDRESS, HASH, WEI, Base


class Claim(Base):
    """One claim of one attempt of a job (a unit of a rounds job included)."""

    __tablename__ = "claims"

    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    solver: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    price: Mapped[str] = mapped_column(String(WEI))
    """The reward the claim fixed (``JobClaimed.price``)."""
    cap: Mapped[str] = mapped_column(String(WEI))
    """The most the job offered at this attempt: the posted reward, after a reopen the price of
    the attempt before (the ramp restarts below the job's current reward)."""
    spec_hash: Mapped[str] = mapped_column(String(HASH))
    steps: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_hash: Mapped[str] = mapped_column(String(HASH))
