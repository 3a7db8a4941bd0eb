"""``crowdtrain bench api``: the marketplace API's read throughput and the indexer's speed.

On a fresh Anvil it posts ``jobs`` jobs (10,000 by default; sent unsigned from an unlocked dev
account in JSON-RPC batches and mined many per block, so setting up takes seconds, not minutes),
times the indexer over them into a fresh SQLite database (``index_events_per_s``), then starts
``crowdtrain api serve`` on that database and drives ``GET /jobs?limit=50`` from a second process
over loopback with keep-alive connections (``req_per_s``).

The load generator is this module's ``__main__`` (``python -m bench.api load ...``): a
small asyncio HTTP/1.1 client, so the client costs less CPU than the server it measures.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import requests

from node.chain.anvil import free_port, start_anvil
from node.chain.client import connect, rpc
from node.chain.deploy import DeploymentParams, deploy_protocol, write_deployment
from node.chain.devnet import dev_account
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.units import CROWD

REQ_BAR, INDEX_BAR = 1_000, 200
PATH = "/jobs?limit=50"
BATCH = 500


def run_api_bench(
    *, jobs: int = 10_000, duration: float = 8.0, connections: int = 16
) -> dict[str, Any]:
    anvil = start_anvil(extra_args=["--gas-limit", "2000000000"])
    try:
        with tempfile.TemporaryDirectory(prefix="crowdtrain-bench-api-") as tmp:
            home = Path(tmp)
            protocol = _deploy(anvil.rpc_url, home)
            posted = _post_jobs(protocol, anvil.rpc_url, jobs)
            index_s, events = _index(protocol, home)
            load = _serve_and_load(anvil.rpc_url, home, duration, connections)
    finally:
        anvil.stop()
    return {
        "req_per_s": round(load["requests"] / load["seconds"], 1),
        "index_events_per_s": round(events / index_s, 1),
        "jobs": posted,
        "indexed_events": events,
        "index_seconds": round(index_s, 2),
        "requests": load["requests"],
        "non_200": load["errors"],
        "connections": connections,
        "load_seconds": round(load["seconds"], 2),
        "bars": {"req_per_s": REQ_BAR, "index_events_per_s": INDEX_BAR},
    }


def _deploy(rpc_url: str, home: Path) -> Protocol:
    w3 = connect(rpc_url)
    owner = dev_account(0)
    deployment = deploy_protocol(TxSender(w3, owner, project_decoder()), DeploymentParams())
    write_deployment(deployment, home / "deployments")
    protocol = Protocol.from_deployment(w3, deployment, owner)
    submitter = dev_account(1)
    protocol.token.mint(submitter.address, 10**9 * CROWD)
    protocol.as_account(submitter).token.approve(protocol.market.address, 2**256 - 1)
    return protocol


def _post_jobs(protocol: Protocol, rpc_url: str, count: int) -> int:
    """Post ``count`` jobs with automine off, then mine them in large blocks."""
    w3 = protocol.w3
    sender = dev_account(1).address
    nonce = w3.eth.get_transaction_count(sender)
    rpc(w3, "evm_setAutomine", False)
    http = requests.Session()
    try:
        for start in range(0, count, BATCH):
            calls = []
            for i in range(start, min(start + BATCH, count)):
                data = protocol.market.contract.encode_abi(
                    "postJob",
                    args=[
                        hashlib.sha256(f"bench-{i}".encode()).digest(),
                        8,
                        2,
                        CROWD,
                        CROWD // 10,
                        600,
                        1_000,
                    ],
                )
                tx = {
                    "from": sender,
                    "to": protocol.market.address,
                    "data": data,
                    "gas": hex(400_000),
                    "nonce": hex(nonce + i),
                }
                calls.append(
                    {"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction", "params": [tx]}
                )
            answers = http.post(rpc_url, json=cast(Any, calls), timeout=120).json()
            failed = [a for a in answers if "error" in a]
            if failed:
                raise RuntimeError(f"posting bench jobs failed: {failed[0]['error']}")
            rpc(w3, "evm_mine")
        while protocol.market.job_count() < count:
            rpc(w3, "evm_mine")
    finally:
        rpc(w3, "evm_setAutomine", True)
    return protocol.market.job_count()


def _index(protocol: Protocol, home: Path) -> tuple[float, int]:
    from marketplace_api.config import ApiConfig
    from marketplace_api.db import make_engine, migrate, session_factory
    from marketplace_api.indexer import Indexer, indexed_adapters
    from node.config import load_settings

    config = ApiConfig.from_settings(load_settings(data_dir=home / "data"))
    engine = make_engine(config.database_url)
    migrate(engine)
    indexer = Indexer(
        protocol.w3,
        indexed_adapters(protocol),
        session_factory(engine),
        start_block=protocol.deployment.deployment_block,
    )
    start = time.perf_counter()
    events = indexer.run_until_head()
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed, events


def _serve_and_load(rpc_url: str, home: Path, duration: float, connections: int) -> dict[str, Any]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDTRAIN_")}
    env.update(
        CROWDTRAIN_RPC_URL=rpc_url,
        CROWDTRAIN_DEPLOYMENTS_DIR=str(home / "deployments"),
        CROWDTRAIN_DATA_DIR=str(home / "data"),
    )
    cmd = [sys.executable, "-m", "cli.main", "api", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + PATH, timeout=2).json()["total"] > 0:
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("crowdtrain api serve did not come up for the benchmark")
            time.sleep(0.2)
        load = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.api",
                "load",
                "127.0.0.1",
                str(port),
                PATH,
                str(duration),
                str(connections),
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        )
        result: dict[str, Any] = json.loads(load.stdout.strip().splitlines()[-1])
        return result
    finally:
        server.terminate()
        server.wait(10)


# --- the load generator (second process) ---


async def _connection(host: str, port: int, path: str, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            counts[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def _load(
    host: str, port: int, path: str, duration: float, connections: int
) -> dict[str, Any]:
    counts = [0, 0]
    start = time.perf_counter()
    await asyncio.gather(
        *(_connection(host, port, path, start + duration, counts) for _ in range(connections))
    )
    return {"requests": counts[0], "errors": counts[1], "seconds": time.perf_counter() - start}


def _main(argv: list[str]) -> None:
    if len(argv) != 6 or argv[0] != "load":
        raise SystemExit("usage: python -m bench.api load HOST PORT PATH SECONDS CONNECTIONS")
    host, port, path, seconds, connections = (
        argv[1],
        int(argv[2]),
        argv[3],
        float(argv[4]),
        int(argv[5]),
    )
    print(json.dumps(asyncio.run(_load(host, port, path, seconds, connections))))


if __name__ == "__main__":
    _main(sys.argv[1:])
