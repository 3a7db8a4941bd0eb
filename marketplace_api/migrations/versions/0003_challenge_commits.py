"""challenge commits: sealed challenges by sequence number, linked to the dispute that reveals them

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "challenge_commits",
        sa.Column("commit_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("challenger", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=True),
        sa.Column("dispute_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("commit_seq"),
    )
    op.create_index(
        op.f("ix_challenge_commits_challenger"), "challenge_commits", ["challenger"], unique=False
    )
    with op.batch_alter_table("disputes") as batch:
        batch.add_column(sa.Column("commit_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("disputes") as batch:
        batch.drop_column("commit_seq")
    op.drop_index(op.f("ix_challenge_commits_challenger"), table_name="challenge_commits")
    op.drop_table("challenge_commits")
