"""An OpenAPI-driven fuzz run (schemathesis, pinned seed, 4 concurrent workers) over every
endpoint of a live server on SQLite while the indexer writes: no response may be a 5xx."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from api_dispute_kit import play
from api_kit import LiveServer, Market, make_app
from eth_account.signers.local import LocalAccount

from marketplace_api.api.state import AppState
from marketplace_api.indexer.runner import IndexerThread

SEED = 20_240_601


def test_fuzz_finds_no_server_error(
    market: Market, sqlite_state: AppState, tmp_path: Path, dev_accounts: list[LocalAccount]
) -> None:
    played = play(market, dev_accounts[4:9])  # attestations, a dispute, a jury: real rows to read
    jobs = market.post(3)
    sqlite_state.indexer_thread = IndexerThread(market.indexer(sqlite_state), interval=0.1)
    sqlite_state.chain = market.deployer.market  # the market view reads the chain live
    server = LiveServer(make_app(sqlite_state)).start()
    try:
        cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
        with ThreadPoolExecutor(4) as pool:
            # Concurrent readers and a chain that keeps moving while the fuzzer runs.
            readers = [
                pool.submit(
                    _hammer,
                    server.url,
                    [
                        "/jobs?limit=50",
                        f"/jobs/{played.job_id}",
                        f"/disputes/{played.dispute_id}",
                        "/disputes?outcome=challenger_wrong",
                        f"/jobs/{jobs[0]}",
                        "/stats",
                        "/market",
                        "/market/clearing",
                    ],
                )
                for _ in range(2)
            ]
            writer = pool.submit(market.post, 3)
            done = subprocess.run(
                [
                    cli,
                    "run",
                    f"{server.url}/openapi.json",
                    "--checks",
                    "not_a_server_error",
                    "--workers",
                    "4",
                    "--seed",
                    str(SEED),
                    "--max-examples",
                    "20",
                    "--phases",
                    "examples,fuzzing",
                    "--suppress-health-check",
                    "all",
                    "--no-color",
                ],
                capture_output=True,
                text=True,
                timeout=180,
                cwd=tmp_path,
                env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
            )
            writer.result()
            statuses = [s for r in readers for s in r.result()]
        (tmp_path / "schemathesis.txt").write_text(done.stdout + done.stderr)
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        selected = re.search(r"Selected: (\d+)/(\d+)", done.stdout)
        tested = re.search(r"Tested: (\d+)", done.stdout)
        assert selected and tested and tested.group(1) == selected.group(2), "every operation"
        assert re.search(r"(\d+) generated, \1 passed", done.stdout), done.stdout[-2000:]
        assert statuses and all(s < 500 for s in statuses), statuses
    finally:
        server.stop()
        sqlite_state.indexer_thread = None
        sqlite_state.chain = None


def _hammer(base: str, paths: list[str], rounds: int = 60) -> list[int]:
    with requests.Session() as http:
        return [
            http.get(base + paths[i % len(paths)], timeout=30).status_code for i in range(rounds)
        ]
