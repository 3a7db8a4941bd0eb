"""The market view on Anvil (docs/MARKET.md, "Market view"): the order book prices each open job
at the chain's latest block exactly as the contract would charge, with its price per PFLOP from
the spec's estimate; a claim leaves the book and enters the clearing history at the price it
fixed (its refund booked to the submitter); a solver's record from the chain matches the one
recounted from indexed events; ``crowdtrain market --json`` prints what ``GET /market`` serves."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from api_kit import CROWD, EXAMPLE_SPEC, REPO, Market, make_app
from fastapi.testclient import TestClient

from marketplace_api.api.state import AppState
from node.chain.client import increase_time
from node.chain.events import JobPosted
from node.storage.api import sign_upload
from node.storage.base import address_of
from node.training.estimate import estimate_job
from node.training.spec import JobSpec, load_spec

SPEC = EXAMPLE_SPEC
CAP, FLOOR, RAMP = 10 * CROWD, 4 * CROWD, 1_000


def post_auction(market: Market, spec: JobSpec) -> JobPosted:
    return market.post_auction(spec, cap=CAP, floor=FLOOR, ramp=RAMP)


def block_time(market: Market, block: int | str) -> int:
    return int(market.w3.eth.get_block(block)["timestamp"])


def offer(now: int, posted_at: int) -> int:
    """The ramp written out independently of ``node.chain.pricing``."""
    return FLOOR + (CAP - FLOOR) * min(now - posted_at, RAMP) // RAMP


def test_order_book_prices_the_ramp_and_clearing_records_the_claim(
    market: Market, state: AppState
) -> None:
    spec = load_spec(SPEC)
    pflop = estimate_job(spec).flops_per_step * spec.steps / 1e15
    assert pflop == estimate_job(spec).pflop  # a plain job: the whole estimate
    state.chain = market.deployer.market
    indexer = market.indexer(state)
    with TestClient(make_app(state)) as client:
        stored = client.post("/specs", json=json.loads(spec.canonical_json()))
        assert stored.status_code == 201, stored.text
        market.stake_solver()
        auction = post_auction(market, spec)
        (fixed,) = market.post(1)  # its spec is not on this API: listed, without an estimate
        posted_at = block_time(market, auction.block_number)
        indexer.run_until_head()

        book = client.get("/market").json()
        now = book["now"]
        assert now == block_time(market, "latest") and book["live"] and book["total"] == 2
        first, second = book["items"]
        assert first["job_id"] == auction.job_id  # priced per PFLOP: first in the book
        assert int(first["price"]) == offer(now, posted_at) < CAP
        assert (first["floor"], first["cap"], first["ramp"]) == (str(FLOOR), str(CAP), RAMP)
        assert first["ramp_left"] == posted_at + RAMP - now > 0
        assert first["estimate"]["pflop"] == pflop
        assert first["price_per_pflop"] == int(first["price"]) / 1e18 / pflop
        assert first["spec_available"] and first["min_finalized"] == 0
        memory = estimate_job(spec).peak_memory_bytes["repro-v1"]
        assert first["needs"] == {
            "device": "any",
            "memory_bytes": memory,
            "memory_from": "estimate",
        }
        assert second["job_id"] == fixed and second["price"] == second["cap"] == str(10 * CROWD)
        assert second["price_per_pflop"] is None and not second["spec_available"]
        assert second["needs"] is None and second["estimate"] is None
        assert second["ramp_left"] == 0

        later = increase_time(market.w3, 400)
        moved = client.get("/market").json()["items"][0]
        assert int(moved["price"]) == offer(later, posted_at) > int(first["price"])
        assert moved["ramp_left"] == posted_at + RAMP - later

        claimed = market.solver.market.claim_job(auction.job_id)
        claimed_at = block_time(market, claimed.block_number)
        assert claimed.price == offer(claimed_at, posted_at)
        indexer.run_until_head()
        assert [j["job_id"] for j in client.get("/market").json()["items"]] == [fixed]

        clearing = client.get("/market/clearing").json()
        assert clearing["total"] == 1
        (point,) = clearing["items"]
        assert (point["job_id"], point["attempt"], point["solver"]) == (
            auction.job_id,
            0,
            market.solver.address,
        )
        assert (point["price"], point["cap"]) == (str(claimed.price), str(CAP))
        assert point["block_time"] == claimed_at
        assert point["price_per_pflop"] == claimed.price / 1e18 / pflop

        ledger = client.get(f"/accounts/{market.submitter.address}/ledger").json()
        refunds = [p for p in ledger["payouts"] if p["kind"] == "refund"]
        assert [(p["job_id"], p["amount"]) for p in refunds] == [
            (auction.job_id, str(CAP - claimed.price))
        ]
        assert market.submitter.market.credit_of(market.submitter.address) == CAP - claimed.price

        # the solver misses its solve deadline: the job reopens, its ramp restarts from the
        # floor to the price the first claim fixed, and the next claim clears under that cap
        increase_time(market.w3, 601)
        reopened = market.submitter.market.reclaim_timed_out(auction.job_id)
        reopened_at = block_time(market, reopened.block_number)
        indexer.run_until_head()
        again = client.get("/market").json()
        item = next(j for j in again["items"] if j["job_id"] == auction.job_id)
        assert (item["attempt"], item["cap"], item["ramp_start"]) == (
            1,
            str(claimed.price),
            reopened_at,
        )
        ramp = FLOOR + (claimed.price - FLOOR) * (again["now"] - reopened_at) // RAMP
        assert int(item["price"]) == ramp
        second = market.solver.market.claim_job(auction.job_id)
        indexer.run_until_head()
        latest = client.get("/market/clearing").json()["items"][0]
        assert (latest["attempt"], latest["cap"], latest["price"]) == (
            1,
            str(claimed.price),
            str(second.price),
        )
        ledger = client.get(f"/accounts/{market.submitter.address}/ledger").json()
        assert sorted(
            int(p["amount"]) for p in ledger["payouts"] if p["kind"] == "refund"
        ) == sorted([CAP - claimed.price, claimed.price - second.price])
        claims = client.get(f"/jobs/{auction.job_id}").json()["claims"]
        assert [(c["attempt"], c["price"], c["cap"]) for c in claims] == [
            (0, str(claimed.price), str(CAP)),
            (1, str(second.price), str(claimed.price)),
        ]


def test_solver_record_matches_the_chain(market: Market, sqlite_state: AppState) -> None:
    sqlite_state.chain = market.deployer.market
    indexer = market.indexer(sqlite_state)
    with TestClient(make_app(sqlite_state)) as client:

        def upload(data: bytes) -> None:
            headers = sign_upload(market.solver_account.key.hex(), address_of(data))
            assert client.put(
                f"/blobs/{address_of(data)}", content=data, headers=headers
            ).is_success

        market.stake_solver()
        done, late = market.post(2, reward=7 * CROWD)
        market.claim_and_commit(done, upload)
        market.finalize(done)
        market.solver.market.claim_job(late)
        increase_time(market.w3, 601)  # past the 600 s solve timeout
        market.submitter.market.reclaim_timed_out(late)
        indexer.run_until_head()

        record = client.get(f"/solvers/{market.solver.address.lower()}").json()
        expected = {"finalized": 1, "value": str(7 * CROWD), "frauds": 0, "timeouts": 1}
        assert record["address"] == market.solver.address
        assert record["record"] == record["indexed"] == expected
        chain = market.deployer.market.record_of(market.solver.address)
        assert (chain.finalized, chain.value, chain.frauds, chain.timeouts) == (1, 7 * CROWD, 0, 1)
        assert [(c["job_id"], c["status"], c["price"]) for c in record["claims"]] == [
            (late, "open", str(7 * CROWD)),
            (done, "finalized", str(7 * CROWD)),
        ]

        newcomer = client.get(f"/solvers/{market.submitter.address}").json()
        zero = {"finalized": 0, "value": "0", "frauds": 0, "timeouts": 0}
        assert newcomer["record"] == newcomer["indexed"] == zero and newcomer["claims"] == []
        bad = client.get("/solvers/0x1234")
        assert bad.status_code == 422


def test_without_a_chain_the_book_shows_posted_rewards(
    market: Market, sqlite_state: AppState
) -> None:
    spec = load_spec(SPEC)
    indexer = market.indexer(sqlite_state)
    auction = post_auction(market, spec)
    indexer.run_until_head()
    with TestClient(make_app(sqlite_state)) as client:
        book = client.get("/market").json()
    assert not book["live"]
    (item,) = book["items"]
    assert item["job_id"] == auction.job_id
    assert item["price"] == item["cap"] == item["floor"] == str(CAP) and item["ramp_left"] == 0


def test_cli_market_prints_what_the_api_serves(
    market: Market, sqlite_state: AppState, tmp_path: Path
) -> None:
    spec = load_spec(SPEC)
    sqlite_state.chain = market.deployer.market
    sqlite_state.blobs.write(spec.canonical_json())  # the spec blob, in the API's store
    auction = market.post_auction(spec, cap=CAP, floor=FLOOR, ramp=RAMP, min_finalized=3)
    (fixed,) = market.post(1)
    market.indexer(sqlite_state).run_until_head()
    with TestClient(make_app(sqlite_state)) as client:
        api = client.get("/market").json()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDTRAIN_")}
    env.update(
        CROWDTRAIN_RPC_URL=market.rpc_url,
        CROWDTRAIN_DEPLOYMENTS_DIR=str(market.root / "deployments"),
        CROWDTRAIN_DATA_DIR=str(tmp_path / "cli-data"),
    )
    blob_dir = str(sqlite_state.config.blob_dir)
    as_json = _cli(env, "market", "--json", "--blob-dir", blob_dir)
    assert json.loads(as_json) == api  # no block was mined in between: the same prices
    text = _cli(env, "market", "--blob-dir", blob_dir).splitlines()
    assert text[0] == f"2 open jobs, priced at chain time {api['now']}"
    rows = [line.split() for line in text[2:]]
    assert [int(r[0]) for r in rows] == [auction.job_id, fixed]
    assert rows[0][2] == f"{api['items'][0]['price_per_pflop']:.4g}" and rows[1][2] == "-"
    assert api["items"][0]["min_finalized"] == 3
    assert text[2].endswith("(estimate), record >= 3") and "spec not in the blob store" in text[3]


def _cli(env: dict[str, Any], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_hostile_spec_blobs_leave_the_book_standing(market: Market, sqlite_state: AppState) -> None:
    """A submitter chooses its spec's bytes: a blob that is not a spec, or one past the spec size
    cap, lists its job without an estimate; it never fails the book."""
    hostile = [b'{"model": {"architecture": "mlp"}}', b"{" + b" " * (64 << 10) + b"}"]
    ids = []
    for data in hostile:
        sqlite_state.blobs.write(data)
        posted = market.submitter.post_job(
            spec_hash=hashlib.sha256(data).digest(),
            steps=8,
            checkpoint_every=2,
            reward=CAP,
            verifier_fee=CROWD,
            solve_timeout=600,
            sample_rate_bps=1_000,
        )
        ids.append(posted.job_id)
    sqlite_state.chain = market.deployer.market
    market.indexer(sqlite_state).run_until_head()
    with TestClient(make_app(sqlite_state)) as client:
        book = client.get("/market")
    assert book.status_code == 200
    items = book.json()["items"]
    assert [j["job_id"] for j in items] == ids
    assert all(not j["spec_available"] and j["estimate"] is None for j in items)
