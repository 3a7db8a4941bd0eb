"""the market: one row per claim with the price it fixed (issue 15)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    claims = op.create_table(
        "claims",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("solver", sa.String(length=42), nullable=False),
        sa.Column("price", sa.String(length=80), nullable=False),
        sa.Column("cap", sa.String(length=80), nullable=False),
        sa.Column("spec_hash", sa.String(length=66), nullable=False),
        sa.Column("steps", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "attempt"),
    )
    op.create_index(op.f("ix_claims_solver"), "claims", ["solver"], unique=False)
    op.create_index(op.f("ix_claims_block_number"), "claims", ["block_number"], unique=False)
    if claims is not None:
        _backfill(claims)


def _backfill(claims: sa.Table) -> None:
    """Claims indexed before this revision get their rows from the stored events (the same rule
    as ``indexer.claims``), so an upgraded database shows the clearing history a fresh one does."""
    events = sa.table(
        "events",
        sa.column("name", sa.String),
        sa.column("contract", sa.String),
        sa.column("block_number", sa.BigInteger),
        sa.column("log_index", sa.Integer),
        sa.column("block_time", sa.BigInteger),
        sa.column("tx_hash", sa.String),
        sa.column("args", sa.JSON),
    )
    jobs = sa.table(
        "jobs",
        sa.column("job_id", sa.BigInteger),
        sa.column("spec_hash", sa.String),
        sa.column("steps", sa.BigInteger),
        sa.column("reward", sa.String),
    )
    bind = op.get_bind()
    known = {row.job_id: row for row in bind.execute(sa.select(jobs))}
    last_price: dict[int, int] = {}
    rows = []
    for event in bind.execute(
        sa.select(events)
        .where(events.c.name == "JobClaimed", events.c.contract == "JobMarket")
        .order_by(events.c.block_number, events.c.log_index)
    ):
        job = known.get(int(event.args["job_id"]))
        if job is None:
            continue
        cap = last_price.get(job.job_id, int(job.reward))
        price = int(event.args.get("price", cap))
        last_price[job.job_id] = price
        rows.append(
            {
                "job_id": job.job_id,
                "attempt": int(event.args["attempt"]),
                "solver": str(event.args["solver"]),
                "price": str(price),
                "cap": str(cap),
                "spec_hash": job.spec_hash,
                "steps": job.steps,
                "block_number": event.block_number,
                "block_time": event.block_time,
                "tx_hash": event.tx_hash,
            }
        )
    if rows:
        op.bulk_insert(claims, rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_claims_block_number"), table_name="claims")
    op.drop_index(op.f("ix_claims_solver"), table_name="claims")
    op.drop_table("claims")
