"""Build the running service from ``Settings``: database, blob folder, indexer thread, app."""

from __future__ import annotations

from fastapi import FastAPI

from marketplace_api.api.main import create_app
from marketplace_api.api.state import AppState
from marketplace_api.config import ApiConfig
from marketplace_api.indexer import Indexer, indexed_adapters
from marketplace_api.indexer.runner import IndexerThread
from node.chain.protocol import Protocol
from node.config import Settings


def build_state(settings: Settings, *, with_indexer: bool = True) -> AppState:
    """The state of ``crowdtrain api serve``: migrated database, and (by default) an indexer
    following the deployment of ``settings.rpc_url``."""
    state = AppState.open(ApiConfig.from_settings(settings))
    if with_indexer:
        protocol = Protocol.connect(settings, signer=False)
        indexer = Indexer(
            protocol.w3,
            indexed_adapters(protocol),
            state.sessions,
            start_block=protocol.deployment.deployment_block,
            confirmations=settings.confirmations,
            on_commit=state.indexed,
        )
        state.indexer_thread = IndexerThread(indexer, interval=settings.poll_interval)
        state.chain = protocol.market
    return state


def build_app(settings: Settings, *, with_indexer: bool = True) -> FastAPI:
    return create_app(build_state(settings, with_indexer=with_indexer))
