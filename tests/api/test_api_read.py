"""The read API over an indexed job lifecycle: filters and pagination, the job detail's trace
summary and loss curve (from the committed manifest blob), leaderboards, stats and metrics."""

from __future__ import annotations

from api_kit import CROWD, Market, make_app
from fastapi.testclient import TestClient

from marketplace_api.api.state import AppState
from node.storage.api import sign_upload
from node.storage.base import address_of


def test_job_lifecycle_through_the_read_api(market: Market, state: AppState) -> None:
    indexer = market.indexer(state)
    with TestClient(make_app(state)) as client:

        def upload(data: bytes) -> None:
            headers = sign_upload(market.solver_account.key.hex(), address_of(data))
            assert (
                client.put(f"/blobs/{address_of(data)}", content=data, headers=headers).status_code
                == 201
            )

        market.stake_solver()
        first, second, third = market.post(3)
        manifest = market.claim_and_commit(first, upload)
        market.finalize(first)
        market.solver.market.claim_job(second)
        indexer.run_until_head()

        page = client.get("/jobs", params={"limit": 2}).json()
        assert page["total"] == 3 and [j["job_id"] for j in page["items"]] == [third, second]
        assert (
            client.get("/jobs", params={"limit": 2, "offset": 2}).json()["items"][0]["job_id"]
            == first
        )
        assert [
            j["job_id"] for j in client.get("/jobs", params={"status": "open"}).json()["items"]
        ] == [third]
        by_solver = client.get("/jobs", params={"solver": market.solver.address.lower()}).json()
        assert {j["job_id"] for j in by_solver["items"]} == {first, second}
        assert client.get("/jobs", params={"limit": 0}).status_code == 422

        detail = client.get(f"/jobs/{first}").json()
        assert detail["status"] == "finalized" and detail["solver"] == market.solver.address
        assert detail["trace"]["manifest_available"] and detail["trace"]["checkpoints"] == 5
        assert [p["loss"] for p in detail["loss_curve"]] == manifest.losses
        assert detail["validation_curve"] == [
            {"step": c.step, "loss": c.validation_loss} for c in manifest.checkpoints
        ]
        assert detail["trace"]["final_validation_loss"] == manifest.checkpoints[-1].validation_loss
        assert [e["name"] for e in detail["events"]] == [
            "JobPosted",
            "JobClaimed",
            "JobCommitted",
            "JobFinalized",
        ]
        assert detail["attestations"] == [] and detail["disputes"] == []
        assert client.get("/jobs/999999").status_code == 404

        solvers = client.get("/solvers").json()["items"]
        assert solvers[0]["address"] == market.solver.address
        assert solvers[0]["earned"] == str(10 * CROWD) and solvers[0]["jobs_finalized"] == 1
        account = client.get(f"/accounts/{market.solver.address}").json()
        assert int(account["locked"]) > 0  # the claim on the second job
        stats = client.get("/stats").json()
        assert stats["jobs_by_status"] == {
            "open": 1,
            "claimed": 1,
            "committed": 0,
            "finalized": 1,
            "cancelled": 0,
        }
        assert stats["reward_paid"] == str(10 * CROWD)

        # The cached list is refreshed as soon as the indexer writes.
        market.post(1)
        indexer.run_until_head()
        assert client.get("/jobs", params={"limit": 2}).json()["total"] == 4

        metrics = client.get("/metrics").text
        assert (
            'crowdtrain_api_requests_total{method="GET",route="/jobs/{job_id}",status="200"}'
            in metrics
        )
        assert "crowdtrain_jobs_finalized 1.0" in metrics
