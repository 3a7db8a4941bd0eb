"""Projections of the verification contracts (``Attestations``, ``DisputeGame``, ``Jury``) and the
per-account payout and slash ledgers.

Like ``jobs`` and ``accounts`` these rows are rebuilt from the ``events`` table after a reorg, so
every column is a deterministic function of the event stream (no RPC reads). Wei amounts are
decimal strings (see ``models``); enums are stored by their protocol name (``solver_wrong``), so
the database reads without the ABI at hand.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace_api.models import ADDRESS, HASH, WEI, Base


class Attestation(Base):
    """One drawn attester of one job attempt: its assigned segments, commit, reveal and pay."""

    __tablename__ = "attestations"
    __table_args__ = (
        UniqueConstraint("job_id", "attempt", "attester", name="uq_attestations_job_attester"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(BigInteger, index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    attester: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    draw_index: Mapped[int] = mapped_column(Integer)
    segments: Mapped[list[int]] = mapped_column(JSON)
    seed: Mapped[str] = mapped_column(String(HASH))
    drawn_block: Mapped[int] = mapped_column(BigInteger)
    committed: Mapped[bool] = mapped_column(Boolean, default=False)
    commit_digest: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    committed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    revealed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    seg_roots: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    valid_segments: Mapped[int] = mapped_column(Integer, default=0)
    paid: Mapped[str] = mapped_column(String(WEI), default="0")
    slashed: Mapped[str] = mapped_column(String(WEI), default="0")


class ChallengeCommit(Base):
    """A sealed challenge (``ChallengeCommitted``), kept by sequence number until a reveal links it
    to its dispute, so the dispute's timeline starts at the commit (the jackpot no longer depends on
    the order: a conviction splits it among every open challenge of the segment)."""

    __tablename__ = "challenge_commits"

    commit_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(HASH))
    challenger: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(HASH))
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    dispute_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Dispute(Base):
    """One dispute (challenge or availability claim) as its events say it is now."""

    __tablename__ = "disputes"

    dispute_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    job_id: Mapped[int] = mapped_column(BigInteger, index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    target: Mapped[str] = mapped_column(String(16))
    segment: Mapped[int] = mapped_column(BigInteger)
    challenger: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    solver: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    bond: Mapped[str] = mapped_column(String(WEI))
    commit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    phase: Mapped[str] = mapped_column(String(16), index=True)
    lo: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hi: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seg_root: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    pinned_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    hash_before: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    hash_after: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    timed_out: Mapped[str | None] = mapped_column(String(ADDRESS), nullable=True)
    jury_verdict: Mapped[str | None] = mapped_column(String(24), nullable=True)
    outcome: Mapped[str] = mapped_column(String(24), index=True, default="none")
    winner: Mapped[str | None] = mapped_column(String(ADDRESS), nullable=True)
    winner_paid: Mapped[str] = mapped_column(String(WEI), default="0")
    jury_fees: Mapped[str] = mapped_column(String(WEI), default="0")
    burned: Mapped[str] = mapped_column(String(WEI), default="0")
    convicted_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The conviction that ended this challenge with a jackpot share (``JackpotShared``); its
    ``winner_paid`` is then the share."""
    challenge_fee: Mapped[str] = mapped_column(String(WEI), default="0")
    """The challenge fee burned from the challenger's stake when the dispute ended (``StakeBurned``
    after its ``DisputeResolved``); 0 for claims and for a fee released with a void attempt."""
    opened_block: Mapped[int] = mapped_column(BigInteger)
    opened_tx: Mapped[str] = mapped_column(String(HASH))
    opened_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    resolved_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    resolved_tx: Mapped[str | None] = mapped_column(String(HASH), index=True, nullable=True)
    resolved_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_block: Mapped[int] = mapped_column(BigInteger)


class DisputeMove(Base):
    """Every event of a dispute (game and jury), in chain order, with who made it."""

    __tablename__ = "dispute_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(64))
    contract: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(ADDRESS), nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(HASH))
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON)


class JuryPanel(Base):
    """One jury round of a dispute: who was drawn, the salt and the voting deadlines."""

    __tablename__ = "jury_panels"

    dispute_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    round: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    requested: Mapped[int] = mapped_column(Integer)
    drawn: Mapped[int] = mapped_column(Integer)
    jurors: Mapped[list[str]] = mapped_column(JSON)
    drawn_block: Mapped[int] = mapped_column(BigInteger)
    salt: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    commit_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reveal_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tied_next_size: Mapped[int | None] = mapped_column(Integer, nullable=True)


class JuryVote(Base):
    """One voter of one round (a juror, or a party revealing its own digest)."""

    __tablename__ = "jury_votes"

    dispute_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    round: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    voter: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    committed: Mapped[bool] = mapped_column(Boolean, default=False)
    committed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    revealed_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    digest: Mapped[str | None] = mapped_column(String(HASH), nullable=True)
    fee: Mapped[str] = mapped_column(String(WEI), default="0")
    slashed: Mapped[str] = mapped_column(String(WEI), default="0")


class _LedgerColumns:
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[str] = mapped_column(String(WEI))
    job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    dispute_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(HASH))


class Payout(_LedgerColumns, Base):
    """One credit, by why it was paid: reward, attestation_fee, jackpot, jury_fee, bond_share,
    compensation, refund or other."""

    __tablename__ = "payouts"


class Slash(_LedgerColumns, Base):
    """Stake an account lost, by why: fraud (the solver's lock), bond, challenge_fee, attester,
    juror, solve_timeout."""

    __tablename__ = "slashes"
