"""rounds jobs: RoundsMarket's rounds jobs and their rounds (units are rows of ``jobs``)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rounds_jobs",
        sa.Column("rounds_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitter", sa.String(length=42), nullable=False),
        sa.Column("spec_hash", sa.String(length=66), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("unit_reward", sa.String(length=80), nullable=False),
        sa.Column("unit_verifier_fee", sa.String(length=80), nullable=False),
        sa.Column("current_round", sa.Integer(), nullable=False),
        sa.Column("refund", sa.String(length=80), nullable=False),
        sa.Column("posted_block", sa.BigInteger(), nullable=False),
        sa.Column("posted_tx", sa.String(length=66), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("rounds_id"),
    )
    op.create_index(op.f("ix_rounds_jobs_status"), "rounds_jobs", ["status"], unique=False)
    op.create_index(op.f("ix_rounds_jobs_submitter"), "rounds_jobs", ["submitter"], unique=False)
    op.create_table(
        "rounds_rounds",
        sa.Column("rounds_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("round", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_job_id", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("included_mask", sa.String(length=80), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("opened_block", sa.BigInteger(), nullable=False),
        sa.Column("closed_block", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("rounds_id", "round"),
    )
    op.create_index(
        op.f("ix_rounds_rounds_first_job_id"), "rounds_rounds", ["first_job_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rounds_rounds_first_job_id"), table_name="rounds_rounds")
    op.drop_table("rounds_rounds")
    op.drop_index(op.f("ix_rounds_jobs_submitter"), table_name="rounds_jobs")
    op.drop_index(op.f("ix_rounds_jobs_status"), table_name="rounds_jobs")
    op.drop_table("rounds_jobs")
