"""The dashboard in headless Chromium (Debian's package, driven by playwright) against a real
``crowdtrain api serve``: a job posted on-chain shows up in the jobs table within seconds, and its
page draws the loss curve of its committed manifest. Screenshots land in test-artifacts/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from api_kit import CROWD, EXAMPLE_SPEC, REPO, Market, requires_ci_or_skip, wait_until

from node.chain.anvil import free_port
from node.storage.api import ApiBlobStore

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed with apt-get when missing (once per session)."""
    if not CHROMIUM.exists() and shutil.which("apt-get") and os.getuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=300, check=False
        )
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            capture_output=True,
            env=env,
            timeout=600,
            check=False,
        )
    if not CHROMIUM.exists():
        requires_ci_or_skip("Debian's chromium is not installed and could not be installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        requires_ci_or_skip("the playwright package is not installed (pip install -e '.[dev]')")
    return CHROMIUM


@pytest.fixture
def served(market: Market, tmp_path: Path) -> Iterator[str]:
    """``crowdtrain api serve`` for the test's deployment, as its own process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDTRAIN_")}
    env.update(
        CROWDTRAIN_RPC_URL=market.rpc_url,
        CROWDTRAIN_DEPLOYMENTS_DIR=str(market.root / "deployments"),
        CROWDTRAIN_DATA_DIR=str(tmp_path / "api-data"),
        CROWDTRAIN_POLL_INTERVAL="0.2",
    )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "api", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: _ok(url + "/health") or proc.poll() is not None, timeout=30, what="api serve"
        )
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def dashboard_page(chromium: Path) -> Iterator[Any]:
    """A page of a headless Chromium at the dashboard's test viewport, closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 900})
        finally:
            browser.close()


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_dashboard_shows_new_jobs_and_draws_the_loss_curve(
    chromium: Path, market: Market, served: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    market.stake_solver()
    with dashboard_page(chromium) as page:
        page.goto(served + "/ui/jobs")
        page.wait_for_selector("#jobs thead")
        (job_id,) = market.post(1)
        posted = time.monotonic()
        page.wait_for_selector(f"#jobs a[href='/ui/jobs/{job_id}']", timeout=5_000)
        assert time.monotonic() - posted < 5
        page.screenshot(path=str(ARTIFACTS / "dashboard-jobs.png"), full_page=True)

        store = ApiBlobStore(served, private_key=market.solver_account.key.hex())
        manifest = market.claim_and_commit(job_id, store.put)
        page.goto(f"{served}/ui/jobs/{job_id}")
        page.wait_for_selector("#loss-svg polyline.loss-line", timeout=10_000)
        points = page.get_attribute("#loss-svg polyline.loss-line", "points") or ""
        assert len(points.split()) == len(manifest.losses)
        val = page.get_attribute("#loss-svg polyline.val-line", "points") or ""
        assert len(val.split()) == len(manifest.checkpoints)  # validation loss per checkpoint
        assert page.locator("#loss-svg circle.val-dot").count() == len(manifest.checkpoints)
        page.wait_for_selector(".card:has-text('validation loss')")
        page.wait_for_selector("#timeline li:has-text('JobCommitted')", timeout=5_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-job.png"), full_page=True)

        page.goto(served + "/")
        page.wait_for_selector("#stats .card")
        page.goto(served + "/ui/leaderboards")
        page.wait_for_selector(f"#solvers td:has-text('{market.solver.address}')", timeout=5_000)

        # the API docs render offline: every request stays on the API's own host
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(served + "/docs")
        page.wait_for_selector(".opblock-summary-path[data-path='/jobs']", timeout=10_000)
        assert requested and all(url.startswith(served) for url in requested), requested


def test_dashboard_shows_a_rounds_job_grid(chromium: Path, market: Market, served: str) -> None:
    """A rounds job shows up in the rounds table; its page draws the rounds-by-slots grid, each
    unit linking to its job page, and a committed unit's final loss appears in its cell."""
    ARTIFACTS.mkdir(exist_ok=True)
    market.stake_solver()
    with dashboard_page(chromium) as page:
        page.goto(served + "/ui/rounds")
        page.wait_for_selector("#rounds thead")
        rounds_id = market.post_rounds(workers=3, rounds=2, quorum=2)
        page.wait_for_selector(f"#rounds a[href='/ui/rounds/{rounds_id}']", timeout=5_000)

        units = market.deployer.rounds_market.round_jobs(rounds_id, 0)
        store = ApiBlobStore(served, private_key=market.solver_account.key.hex())
        manifest = market.claim_and_commit(units[1], store.put)
        page.goto(f"{served}/ui/rounds/{rounds_id}")
        page.wait_for_selector("#grid thead")
        assert page.locator("#grid thead th").all_inner_texts() == [
            "round", "slot 0", "slot 1", "slot 2", "included", "loss",
        ]  # fmt: skip
        for job_id in units:
            page.wait_for_selector(f"#grid td.unit a[href='/ui/jobs/{job_id}']")
        cell = page.locator("#grid td.unit").nth(1)
        page.wait_for_selector(
            f"#grid td.unit:has-text('loss {manifest.losses[-1]:.4f}')", timeout=5_000
        )
        assert "committed" in cell.inner_text()
        assert market.solver.address[:6] in cell.inner_text()
        page.screenshot(path=str(ARTIFACTS / "dashboard-rounds.png"), full_page=True)


def test_dashboard_market_page(chromium: Path, market: Market, served: str) -> None:
    """The market page lists an auction job in the order book with its price per PFLOP, shows
    its offer climbing the ramp as chain time passes, draws the claim in the clearing chart at
    the price it fixed, and lists the solver's record in sync with the chain."""
    import json

    from node.chain.client import increase_time
    from node.training.spec import load_spec

    ARTIFACTS.mkdir(exist_ok=True)
    spec = load_spec(EXAMPLE_SPEC)
    stored = requests.post(served + "/specs", json=json.loads(spec.canonical_json()), timeout=30)
    assert stored.status_code == 201, stored.text
    market.stake_solver()
    with dashboard_page(chromium) as page:
        page.goto(served + "/ui/market")
        page.wait_for_selector("#book thead")
        assert page.locator("header nav a[href='/ui/market']").count() == 1
        job_id = int(market.post_auction(spec, cap=10 * CROWD, floor=4 * CROWD, ramp=1_000).job_id)
        row = f"#book tr:has(a[href='/ui/jobs/{job_id}'])"
        page.wait_for_selector(row, timeout=5_000)
        assert page.locator(f"{row} td.per-pflop").inner_text() != "—"
        before = page.locator(f"{row} td.price").inner_text()
        increase_time(market.w3, 400)
        page.wait_for_function(
            "([sel, old]) => { const c = document.querySelector(sel); "
            "return c && c.textContent !== old; }",
            arg=[f"{row} td.price", before],
            timeout=5_000,
        )
        assert float(page.locator(f"{row} td.price").inner_text()) > float(before)
        page.screenshot(path=str(ARTIFACTS / "dashboard-market-book.png"), full_page=True)

        claimed = market.solver.market.claim_job(job_id)
        page.wait_for_selector(
            f"#clearing-svg circle.claim-dot[data-job='{job_id}']", timeout=5_000
        )
        assert page.locator(row).count() == 0  # claimed: out of the book
        page.wait_for_selector(
            f"#records tr:has-text('{market.solver.address}'):has-text('in sync')",
            timeout=5_000,
        )
        title = page.locator(f"circle.claim-dot[data-job='{job_id}'] title").text_content()
        point = requests.get(served + "/market/clearing", timeout=10).json()["items"][0]
        assert point["price"] == str(claimed.price)
        assert (
            title
            == f"job {job_id}: "
            + page.evaluate("(v) => v.toPrecision(4)", point["price_per_pflop"])
            + " per PFLOP"
        )
        page.screenshot(path=str(ARTIFACTS / "dashboard-market.png"), full_page=True)
