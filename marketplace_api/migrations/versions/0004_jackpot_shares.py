"""jackpot shares and challenge fees: the conviction a challenge shared, the fee it burned

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disputes") as batch:
        batch.add_column(sa.Column("convicted_by", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("challenge_fee", sa.String(length=80), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("disputes") as batch:
        batch.drop_column("challenge_fee")
        batch.drop_column("convicted_by")
