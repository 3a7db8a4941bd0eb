"""The blob store fails while a solver writes its checkpoints: the marketplace API's endpoint goes
down at the first upload, or the blob folder (a real tmpfs) runs out of space. The solver keeps its
claim, never blames the submitter (no availability claim, no dataset marked bad), leaves no
half-written blob, and once the store is back it commits, is paid exactly, and every checkpoint
of its manifest can be fetched."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from e2e_dispute_kit import FEE, REWARD, World, tiny_spec
from fault_kit import OutageProxy, paid_job_books, tmpfs
from market_kit import REPO, Market, wait_for_status, wait_until

from node.chain.anvil import free_port
from node.chain.types import JobStatus
from node.storage import BlobStore, LocalBlobStore
from node.storage.api import ApiBlobStore
from node.trace.manifest import parse_manifest

pytestmark = [pytest.mark.chain, pytest.mark.slow]

LOCK = 2 * REWARD


def _outages(log: Path) -> int:
    return log.read_text().count("blob store unavailable")


def _finish_and_check(
    world: World, job_id: int, proc: subprocess.Popen[bytes], log: Path, store: BlobStore
) -> None:
    """Commit, window, finalize; then the books and every checkpoint of the manifest."""
    market = world.market
    wait_for_status(market, job_id, JobStatus.COMMITTED, proc, timeout=180)
    market.advance(
        market.deployer.market.challenge_window() + market.deployer.market.reveal_phase() + 1
    )
    assert proc.wait(timeout=180) == 0, log.read_text()
    assert world.p.market.get_job(job_id).status is JobStatus.FINALIZED
    commitment = world.p.market.get_commitment(job_id)
    assert commitment is not None
    manifest = parse_manifest(store.get("sha256:" + commitment.manifest_hash.hex()))
    for checkpoint in manifest.checkpoints:
        store.get(checkpoint.address)  # present and hashing to its address


def _waiting_on_the_store(
    world: World, job_id: int, proc: subprocess.Popen[bytes], log: Path
) -> None:
    """The solver retries (alive, twice noted) and blames nobody: its claim stands, no dispute."""
    wait_until(lambda: _outages(log) >= 2, timeout=180, what="uploads retried", proc=proc)
    assert proc.poll() is None
    assert world.p.market.get_job(job_id).status is JobStatus.CLAIMED
    assert world.p.dispute_game.dispute_count() == 0


@pytest.fixture
def api_server(market: Market, tmp_path: Path) -> Iterator[str]:
    """``crowdtrain api serve`` for the test's deployment, as its own process."""
    port = free_port()
    env = market.env(None, CROWDTRAIN_DATA_DIR=str(tmp_path / "api-data"))
    env.pop("CROWDTRAIN_BLOB_DIR")
    log = tmp_path / "api.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "api", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(url + "/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(lambda: up() or proc.poll() is not None, timeout=60, what="api serve")
        assert proc.poll() is None, log.read_text()
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_api_down_while_the_solver_uploads_checkpoints(
    market: Market, api_server: str, tmp_path: Path
) -> None:
    api = ApiBlobStore(api_server, private_key=market.submitter.key.hex())
    world = World(market, LocalBlobStore(market.root / "blobs"))
    world.add_solver(market.solver, LOCK)
    solver, submitter = market.solver.address, market.submitter.address
    before = {a: world.wealth(a) for a in (solver, submitter)}
    job_id = world.post(tiny_spec(api))  # spec and dataset on the API
    port = int(api_server.rsplit(":", 1)[1])
    proxy = OutageProxy(("127.0.0.1", port), free_port())
    proxy.come_back()
    log = tmp_path / "solver.log"
    proc = market.spawn(
        market.solver, "solver", "run", "--once", log=log, CROWDTRAIN_API_URL=proxy.url
    )
    try:
        wait_until(proxy.went_down.is_set, timeout=180, what="the first upload", proc=proc)
        _waiting_on_the_store(world, job_id, proc, log)
        proxy.come_back()
        _finish_and_check(world, job_id, proc, log, api)
    finally:
        if proc.poll() is None:
            proc.kill()
        proxy.go_down()
    paid_job_books(world, job_id, before, FEE)


def _fill(path: Path) -> None:
    """Write ``path`` until the filesystem has no byte left."""
    with path.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            assert err.errno == errno.ENOSPC


def test_blob_dir_full_while_checkpoints_are_written(market: Market, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    with tmpfs(market.root / "blobs", 4 << 20) as blobs:
        store = LocalBlobStore(blobs)
        world = World(market, store)
        world.add_solver(market.solver, LOCK)
        solver, submitter = market.solver.address, market.submitter.address
        before = {a: world.wealth(a) for a in (solver, submitter)}
        job_id = world.post(tiny_spec(store))
        blob_files = {f.name for f in blobs.iterdir()}
        filler = blobs / "filler"  # another writer took every byte left
        _fill(filler)
        log = tmp_path / "solver.log"
        proc = market.spawn(market.solver, "solver", "run", "--once", log=log)
        try:
            _waiting_on_the_store(world, job_id, proc, log)
            assert "No space left on device" in log.read_text()
            # nothing half-written: no temporary file left, no new file under a blob name
            assert {f.name for f in blobs.iterdir()} == blob_files | {"filler"}
            filler.unlink()
            _finish_and_check(world, job_id, proc, log, store)
        finally:
            if proc.poll() is None:
                proc.kill()
        for blob in blobs.iterdir():
            store.get("sha256:" + blob.name)  # every file hashes to its name
        paid_job_books(world, job_id, before, FEE)
