"""``create_app``: the FastAPI application over one ``AppState``.

The indexer thread (if the state has one) starts and stops with the app's lifespan, so
``crowdtrain api serve`` is one process and tests can run the same app under any server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import func, select

from marketplace_api.api.body_limit import BodyLimit
from marketplace_api.api.routes import (
    accounts,
    blobs,
    dashboard,
    disputes,
    jobs,
    market,
    metrics,
    rounds,
    specs,
    stats,
)
from marketplace_api.api.state import AppState
from marketplace_api.dashboard import STATIC_DIR
from marketplace_api.metrics import MetricsMiddleware
from marketplace_api.models import Event, Job

DESCRIPTION = (
    "Indexes crowdtrain's on-chain events, stores content-addressed blobs, validates job specs "
    "and serves the read API and the live dashboard. It never holds a user's key."
)


def create_app(state: AppState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if state.indexer_thread is not None:
            state.indexer_thread.start()
        try:
            yield
        finally:
            if state.indexer_thread is not None:
                state.indexer_thread.stop()

    # /docs and /redoc from files shipped in the wheel, not a CDN: the API must work offline.
    app = FastAPIOffline(
        title="crowdtrain marketplace API", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.crowdtrain = state
    for module in (
        jobs,
        rounds,
        market,
        accounts,
        disputes,
        stats,
        blobs,
        specs,
        metrics,
        dashboard,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    state.metrics.add_gauges(lambda: _gauges(state))
    app.add_middleware(BodyLimit, limits={"/specs": state.config.spec_max_bytes})
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app


def _gauges(state: AppState) -> dict[str, float]:
    values: dict[str, float] = {}
    thread = state.indexer_thread
    if thread is not None:
        stats = thread.indexer.stats
        values["crowdtrain_indexer_next_block"] = stats.next_block
        values["crowdtrain_indexer_chain_head"] = stats.chain_head
        values["crowdtrain_indexer_lag_blocks"] = max(0, stats.chain_head - stats.next_block + 1)
        values["crowdtrain_indexer_reorgs"] = stats.reorgs
        values["crowdtrain_indexer_events_this_process"] = stats.events
    with state.sessions() as session:
        values["crowdtrain_indexed_events"] = (
            session.scalar(select(func.count()).select_from(Event)) or 0
        )
        for status, count in session.execute(select(Job.status, func.count()).group_by(Job.status)):
            values[f"crowdtrain_jobs_{status}"] = count
    return values
