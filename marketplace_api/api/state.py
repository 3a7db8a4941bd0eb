"""``AppState``: everything a request handler needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from marketplace_api.blobs.files import BlobFiles
from marketplace_api.cache import ResponseCache
from marketplace_api.config import ApiConfig
from marketplace_api.db import make_engine, migrate, session_factory
from marketplace_api.indexer.runner import IndexerThread
from marketplace_api.market_view import EstimateCache, TermsCache
from marketplace_api.metrics import Metrics
from node.chain.job_market import JobMarketAdapter


@dataclass
class AppState:
    config: ApiConfig
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobFiles
    cache: ResponseCache
    metrics: Metrics = field(default_factory=Metrics)
    indexer_thread: IndexerThread | None = None
    chain: JobMarketAdapter | None = None
    """The deployment's JobMarket, read live by the market view (offers move with the clock);
    None serves the index alone."""
    estimates: EstimateCache = field(default_factory=EstimateCache)
    terms: TermsCache = field(default_factory=TermsCache)

    @classmethod
    def open(cls, config: ApiConfig, *, run_migrations: bool = True) -> AppState:
        """Connect, migrate, and prepare the blob folder."""
        engine = make_engine(config.database_url)
        if run_migrations:
            migrate(engine)
        return cls(
            config=config,
            engine=engine,
            sessions=session_factory(engine),
            blobs=BlobFiles(config.blob_dir),
            cache=ResponseCache(ttl=config.cache_ttl_s),
        )

    def indexed(self, new_events: int) -> None:
        """The indexer's commit hook: cached pages are stale once it wrote something."""
        if new_events:
            self.cache.invalidate()
