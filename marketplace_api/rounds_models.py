"""Projections of ``RoundsMarket`` (docs/ROUNDS.md): rounds jobs and their rounds.

A unit is an ordinary ``JobMarket`` job (its row lives in ``jobs``); these tables only say which
job is which unit (unit (r, w) of a round is job ``first_job_id + w``), which slots each closed
round included in its outer step, and the rounds job's own state. Like every projection they are
deterministic functions of the ``events`` table, rebuilt from it after a reorg.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace_api.models import ADDRESS, HASH, WEI, Base

MASK = 80
"""A uint256 bitmask as a decimal string (78 digits at most)."""


class RoundsJob(Base):
    """A rounds job as the events say it is now."""

    __tablename__ = "rounds_jobs"

    rounds_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    """``running``, ``finished`` or ``cancelled``."""
    submitter: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    spec_hash: Mapped[str] = mapped_column(String(HASH))
    workers: Mapped[int] = mapped_column(Integer)
    rounds: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[int] = mapped_column(Integer)
    unit_reward: Mapped[str] = mapped_column(String(WEI))
    unit_verifier_fee: Mapped[str] = mapped_column(String(WEI))
    current_round: Mapped[int] = mapped_column(Integer, default=0)
    refund: Mapped[str] = mapped_column(String(WEI), default="0")
    """What ``RoundsJobCancelled`` refunded for rounds never opened."""
    posted_block: Mapped[int] = mapped_column(BigInteger)
    posted_tx: Mapped[str] = mapped_column(String(HASH))
    updated_block: Mapped[int] = mapped_column(BigInteger)


class RoundsRound(Base):
    """One opened round: its units' first job id, its deadline, and once closed the included mask."""

    __tablename__ = "rounds_rounds"

    rounds_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    round: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_job_id: Mapped[int] = mapped_column(BigInteger, index=True)
    deadline: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    """``open`` or ``closed``."""
    included_mask: Mapped[str] = mapped_column(String(MASK), default="0")
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    """How many times the round's deadline passed without quorum (``RoundReopened``)."""
    opened_block: Mapped[int] = mapped_column(BigInteger)
    closed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
