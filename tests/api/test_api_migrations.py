"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL:
a model change without its migration would otherwise only show up as a production error."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from marketplace_api import dispute_models, rounds_models
from marketplace_api.db import make_engine, migrate
from marketplace_api.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    assert dispute_models.ChallengeCommit.__tablename__ in Base.metadata.tables
    assert rounds_models.RoundsRound.__tablename__ in Base.metadata.tables
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
