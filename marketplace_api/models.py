"""SQLAlchemy 2 models: the raw event log, the indexer's bookkeeping, and the projections.

``Event`` rows are the source of truth; ``Job`` and ``Account`` rows are projections rebuilt from
them (after a reorg, from scratch). Wei amounts are decimal strings: they exceed 64 bits, and
SQLite's NUMERIC would round them through a float.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

HASH = 66
"""``0x`` + 64 hex digits."""
ADDRESS = 42
WEI = 80


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class IndexerState(Base):
    """The cursor (first block not indexed yet) and which deployment this database follows."""

    __tablename__ = "indexer_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    market_address: Mapped[str] = mapped_column(String(ADDRESS))
    next_block: Mapped[int] = mapped_column(BigInteger)
    reorgs: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndexedBlock(Base):
    """The hash the indexer saw for a block it read (event blocks and range ends): the reorg check."""

    __tablename__ = "indexed_blocks"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(HASH))


class Event(Base):
    """One decoded protocol log; unique by (block hash, log index), so re-reading never duplicates."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("block_hash", "log_index", name="uq_events_block_log"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_hash: Mapped[str] = mapped_column(String(HASH))
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(HASH))
    contract: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64), index=True)
    job_id: Mapped[int | None] = mapped_column(BigInteger, index=True, nullable=True)
    account: Mapped[str | None] = mapped_column(String(ADDRESS), index=True, nullable=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The block's timestamp when the RPC reports it with the log (Anvil, geth ≥ 1.15)."""


class Job(Base):
    """A job as the events say it is now."""

    __tablename__ = "jobs"

    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    submitter: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    solver: Mapped[str | None] = mapped_column(String(ADDRESS), index=True, nullable=True)
    spec_hash: Mapped[str] = mapped_column(String(HASH))
    reward: Mapped[str] = mapped_column(String(WEI))
    verifier_fee: Mapped[str] = mapped_column(String(WEI))
    steps: Mapped[int] = mapped_column(BigInteger)
    checkpoint_every: Mapped[int] = mapped_column(BigInteger)
    solve_timeout: Mapped[int] = mapped_column(BigInteger)
    sample_rate_bps: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    locked_stake: Mapped[str] = mapped_column(String(WEI), default="0")
    deadline: Mapped[int] = mapped_column(BigInteger, default=0)
    open_disputes: Mapped[int] = mapped_column(Integer, default=0)
    state_root: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    seg_roots_root: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    final_state_hash: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    manifest_hash: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    posted_block: Mapped[int] = mapped_column(BigInteger)
    posted_tx: Mapped[str] = mapped_column(String(HASH))
    updated_block: Mapped[int] = mapped_column(BigInteger)


class Account(Base):
    """A participant's stake and earnings as the events say; roles follow from what it did."""

    __tablename__ = "accounts"

    address: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    staked: Mapped[str] = mapped_column(String(WEI), default="0")
    locked: Mapped[str] = mapped_column(String(WEI), default="0")
    unbonding: Mapped[str] = mapped_column(String(WEI), default="0")
    slashed: Mapped[str] = mapped_column(String(WEI), default="0")
    earned: Mapped[str] = mapped_column(String(WEI), default="0")
    """Every payout but refunds: rewards, attestation fees, jackpots, jury fees, bond shares,
    compensation (the ``payouts`` table has the breakdown)."""
    credited: Mapped[str] = mapped_column(String(WEI), default="0")
    withdrawn: Mapped[str] = mapped_column(String(WEI), default="0")
    jobs_posted: Mapped[int] = mapped_column(Integer, default=0)
    jobs_claimed: Mapped[int] = mapped_column(Integer, default=0)
    jobs_finalized: Mapped[int] = mapped_column(Integer, default=0)
    jobs_timed_out: Mapped[int] = mapped_column(Integer, default=0)
    jobs_reopened: Mapped[int] = mapped_column(Integer, default=0)
    attestations: Mapped[int] = mapped_column(Integer, default=0)
    challenges: Mapped[int] = mapped_column(Integer, default=0)
    updated_block: Mapped[int] = mapped_column(BigInteger, default=0)


class Blob(Base):
    """A stored blob: who uploaded it first (quota accounting) and its size."""

    __tablename__ = "blobs"

    address: Mapped[str] = mapped_column(String(71), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    uploader: Mapped[str | None] = mapped_column(String(ADDRESS), index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UploadNonce(Base):
    """A nonce spent by a signed upload: the same signature is never accepted twice."""

    __tablename__ = "upload_nonces"

    signer: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expiry: Mapped[int] = mapped_column(BigInteger, index=True)


class Spec(Base):
    """A validated job spec (its canonical JSON is also a blob at ``address``)."""

    __tablename__ = "specs"

    address: Mapped[str] = mapped_column(String(71), primary_key=True)
    architecture: Mapped[str] = mapped_column(String(16))
    runtime: Mapped[str] = mapped_column(String(16))
    steps: Mapped[int] = mapped_column(BigInteger)
    canonical_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
