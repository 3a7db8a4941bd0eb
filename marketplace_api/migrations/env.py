"""Alembic environment: runs on the connection that ``marketplace_api.db.migrate`` hands over.

Generate a new revision against a scratch SQLite file with
``alembic -x url=sqlite:///tmp.db revision --autogenerate`` style tooling, or write it by hand.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from marketplace_api import dispute_models, market_models, rounds_models  # noqa: F401  (register their tables)
from marketplace_api.models import Base

target_metadata = Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True)["url"]
        with create_engine(url).begin() as own:
            _migrate(own)
    else:
        _migrate(connection)


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
