"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL:
a model change without its migration would otherwise only show up as a production error."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from marketplace_api import dispute_models, market_models, rounds_models
from marketplace_api.db import MIGRATIONS, make_engine, migrate
from marketplace_api.market_models import Claim
from marketplace_api.models import Base, Event, Job


def test_migrations_match_the_models(database_url: str) -> None:
    assert dispute_models.ChallengeCommit.__tablename__ in Base.metadata.tables
    assert rounds_models.RoundsRound.__tablename__ in Base.metadata.tables
    assert market_models.Claim.__tablename__ in Base.metadata.tables
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_0006_books_claims_indexed_before_it(database_url: str) -> None:
    """A database indexed before the market revision gets a ``claims`` row for every stored
    ``JobClaimed``: a pre-auction claim paid the cap; a reclaim's cap is the price before."""
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    solver, tx = "0x" + "ab" * 20, "0x" + "11" * 32
    job = dict(
        job_id=7, status="claimed", submitter=solver, spec_hash=tx, reward="500", verifier_fee="1",
        steps=8, checkpoint_every=2, solve_timeout=600, sample_rate_bps=1000, attempt=1,
        locked_stake="0", deadline=0, open_disputes=0, posted_block=1, posted_tx=tx,
        updated_block=3,
    )  # fmt: skip
    claimed = [
        (2, {"job_id": 7, "solver": solver, "attempt": 0}),  # before the auction: no price
        (3, {"job_id": 7, "solver": solver, "attempt": 1, "price": 300}),
    ]
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")
            connection.execute(Job.__table__.insert().values(**job))
            for block, args in claimed:
                event = dict(
                    block_number=block, block_hash=f"0x{block:064x}", log_index=0, tx_hash=tx,
                    contract="JobMarket", name="JobClaimed", job_id=7, account=solver, args=args,
                    block_time=1_000 + block,
                )  # fmt: skip
                connection.execute(Event.__table__.insert().values(**event))
        migrate(engine)
        with engine.connect() as connection:
            rows = connection.execute(select(Claim.__table__).order_by(Claim.attempt)).all()
        assert [(r.attempt, r.price, r.cap, r.block_time, r.steps) for r in rows] == [
            (0, "500", "500", 1_002, 8),
            (1, "300", "500", 1_003, 8),
        ]
    finally:
        engine.dispose()
