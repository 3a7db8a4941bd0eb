"""Fixtures of the marketplace API tests: a deployment per test (reverted by the ``chain``
snapshot), and an API state over SQLite or a throwaway PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_kit import (
    REPO,
    Market,
    deploy_market,
    open_state,
    postgres_database,
    requires_ci_or_skip,
    sqlite_database,
)
from eth_account.signers.local import LocalAccount
from web3 import Web3

from marketplace_api.api.state import AppState
from node.chain.anvil import AnvilProcess

pytestmark = pytest.mark.chain


@pytest.fixture
def market(
    chain: Web3, anvil: AnvilProcess, dev_accounts: list[LocalAccount], tmp_path: Path
) -> Market:
    return deploy_market(chain, anvil.rpc_url, dev_accounts, tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL cluster (scripts/ensure_postgres.sh), once per session;
    ``CROWDTRAIN_TEST_POSTGRES_URL`` names an existing server instead."""
    if url := os.environ.get("CROWDTRAIN_TEST_POSTGRES_URL"):
        yield url
        return
    script = REPO / "scripts" / "ensure_postgres.sh"
    try:
        done = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        requires_ci_or_skip(f"PostgreSQL could not be started: {err}")
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("postgresql")]
    if done.returncode != 0 or not lines:
        requires_ci_or_skip(f"PostgreSQL could not be started: {done.stderr.strip()[-500:]}")
    datadir = next(
        ln.split(" ", 1)[1] for ln in done.stdout.splitlines() if ln.startswith("datadir ")
    )
    try:
        yield lines[-1]
    finally:
        stop = f"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl -D {datadir}/data -m immediate stop"
        as_pg = (
            ["su", "postgres", "-s", "/bin/bash", "-c", stop]
            if os.getuid() == 0
            else ["bash", "-c", stop]
        )
        subprocess.run(as_pg, capture_output=True, timeout=60, check=False)
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_database(tmp_path)
    else:
        yield from postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def sqlite_state(tmp_path: Path) -> Iterator[AppState]:
    state = open_state(sqlite_database(tmp_path), tmp_path)
    yield state
    state.engine.dispose()


@pytest.fixture
def state(database_url: str, tmp_path: Path) -> Iterator[AppState]:
    state = open_state(database_url, tmp_path)
    yield state
    state.engine.dispose()
