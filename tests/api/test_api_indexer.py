"""The indexer against a real Anvil and a real database (SQLite, and PostgreSQL when available):
restarts lose and duplicate nothing, a reorg is reconciled, the confirmation depth holds."""

from __future__ import annotations

from typing import Any

import pytest
from api_kit import Market
from sqlalchemy import func, select
from web3 import Web3

from marketplace_api.api.state import AppState
from marketplace_api.models import Event, IndexerState, Job
from node.chain.client import mine, rpc

pytestmark = pytest.mark.chain


def chain_logs(market: Market) -> set[tuple[str, int]]:
    """Every modelled protocol event on the chain now, as (tx hash, log index)."""
    adapters = {a.address: a for a in (market.deployer.market, market.deployer.registry)}
    logs = market.w3.eth.get_logs(
        {"address": list(adapters), "fromBlock": market.deployer.deployment.deployment_block}  # type: ignore[typeddict-item]
    )
    decoded = (adapters[Web3.to_checksum_address(log["address"])].decode_log(log) for log in logs)
    return {(e.tx_hash, e.log_index) for e in decoded if e is not None}


def stored(state: AppState) -> list[tuple[str, int]]:
    with state.sessions() as session:
        return [tuple(row) for row in session.execute(select(Event.tx_hash, Event.log_index))]  # type: ignore[misc]


def job_ids(state: AppState) -> list[int]:
    with state.sessions() as session:
        return list(session.scalars(select(Job.job_id).order_by(Job.job_id)))


def test_restart_mid_stream_loses_and_duplicates_nothing(market: Market, state: AppState) -> None:
    market.stake_solver()
    posted = market.post(5)
    market.solver.market.claim_job(posted[0])
    first = market.indexer(state, batch_blocks=2)
    for _ in range(50):
        if first.tick():
            break
    assert 0 < len(stored(state)) < len(chain_logs(market)), "stopped mid-stream"
    del first  # the process "dies": only the database survives

    market.post(2)  # the chain moves on while the indexer is down
    again = market.indexer(state, batch_blocks=2)
    again.run_until_head()
    events = stored(state)
    assert len(events) == len(set(events)), "duplicated rows"
    assert set(events) == chain_logs(market), "lost or invented events"
    assert job_ids(state) == list(range(posted[0], posted[0] + 7))

    # Re-reading an already indexed range (a cursor moved back by hand) inserts nothing twice.
    with state.sessions() as session, session.begin():
        session.get_one(IndexerState, 1).next_block = market.deployer.deployment.deployment_block
    market.indexer(state, batch_blocks=50).run_until_head()
    assert sorted(stored(state)) == sorted(events)
    with state.sessions() as session:
        job = session.get_one(Job, posted[0])
        assert (job.status, job.solver) == ("claimed", market.solver.address)


def test_reorg_is_reconciled_from_the_fork_point(market: Market, state: AppState) -> None:
    market.post(1)
    indexer = market.indexer(state, confirmations=0)
    indexer.run_until_head()
    snapshot: Any = rpc(market.w3, "evm_snapshot")
    orphaned = market.post(2)  # indexed, then reorganised away
    indexer.run_until_head()
    assert job_ids(state)[-2:] == orphaned
    orphan_logs = chain_logs(market)

    rpc(market.w3, "evm_revert", snapshot)
    market.submitter = market.deployer.as_account(market.submitter_account)  # fresh nonces
    replacement = market.post(1, reward=7 * 10**18)  # the new branch: a different job at that id
    mine(market.w3, 3)
    assert replacement == orphaned[:1]
    indexer.run_until_head()

    assert indexer.stats.reorgs == 1
    events = stored(state)
    assert set(events) == chain_logs(market) and len(events) == len(set(events))
    assert not (set(events) - chain_logs(market)) and orphan_logs - chain_logs(market)
    assert job_ids(state)[-1] == replacement[0]
    with state.sessions() as session:
        assert session.get_one(Job, replacement[0]).reward == str(7 * 10**18)
        assert session.get(Job, orphaned[1]) is None
        assert session.get_one(IndexerState, 1).reorgs == 1


def test_confirmation_depth_holds_back_recent_blocks(
    market: Market, sqlite_state: AppState
) -> None:
    indexer = market.indexer(sqlite_state, confirmations=3)
    indexer.run_until_head()
    market.post(1)
    indexer.run_until_head()
    with sqlite_state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    mine(market.w3, 3)
    indexer.run_until_head()
    assert len(job_ids(sqlite_state)) == 1
