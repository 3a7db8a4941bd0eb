"""Rounds jobs through the indexer and the read API, on Anvil with RoundsMarket deployed: the
rounds-by-slots grid follows every unit (solver, state, attempt after a timeout, inclusion in its
round's outer step, final loss from its manifest), the loss per round is the mean of the included
units, and a cancelled rounds job shows its refund."""

from __future__ import annotations

import dataclasses

from api_kit import CROWD, Market, fake_trace, make_app
from fastapi.testclient import TestClient
from test_demo_report import check_report

from marketplace_api.api.state import AppState
from marketplace_api.report import DemoOutcome
from node.chain.client import increase_time
from node.storage.api import sign_upload
from node.storage.base import address_of


def test_rounds_grid_through_the_read_api(market: Market, state: AppState) -> None:
    indexer = market.indexer(state)
    with TestClient(make_app(state)) as client:

        def commit_unit(job_id: int, final_loss: float) -> None:
            """Claim and commit unit ``job_id`` with a manifest whose last loss is ``final_loss``."""
            claimed = market.solver.market.claim_job(job_id)
            manifest, commitment, proof = fake_trace(job_id, claimed.attempt)
            manifest = manifest.model_copy(update={"losses": [*manifest.losses[:-1], final_loss]})
            commitment = dataclasses.replace(commitment, manifest_hash=manifest.manifest_hash())
            data = manifest.canonical_json()
            headers = sign_upload(market.solver_account.key.hex(), address_of(data))
            put = client.put(f"/blobs/{address_of(data)}", content=data, headers=headers)
            assert put.status_code == 201
            market.solver.market.commit_trace(job_id, commitment, proof)

        def wealth() -> dict[str, int]:
            p = market.deployer
            out = {}
            for name, who in (("submitter", market.submitter), ("solver", market.solver)):
                stake = p.registry.stake_of(who.address)
                out[name] = p.token.balance_of(who.address) + stake.staked + stake.unbonding
            return out

        before = wealth()
        market.stake_solver()
        rounds_id = market.post_rounds()
        rm = market.deployer.rounds_market
        round0 = rm.round_jobs(rounds_id, 0)
        for job_id, loss in zip(round0, (1.0, 2.0, 3.0), strict=True):
            commit_unit(job_id, loss)
        increase_time(market.w3, 86_400)  # past the window and reveal phase
        for job_id in round0:
            market.solver.market.finalize_job(job_id)
        market.submitter.rounds_market.close_round(rounds_id)
        round1 = rm.round_jobs(rounds_id, 1)
        commit_unit(round1[0], 0.5)
        commit_unit(round1[1], 1.5)
        market.solver.market.claim_job(round1[2])  # this solver will miss the solve deadline
        increase_time(market.w3, 86_400)
        market.solver.market.finalize_job(round1[0])
        market.solver.market.finalize_job(round1[1])
        market.submitter.market.reclaim_timed_out(round1[2])  # reopened in its round, 10% burned
        indexer.run_until_head()
        running = client.get(f"/rounds/{rounds_id}").json()
        assert running["status"] == "running" and running["current_round"] == 1
        assert running["grid"][1]["status"] == "open"
        assert [u["included"] for u in running["grid"][1]["units"]] == [None, None, None]
        assert running["grid"][1]["loss"] == 1.0  # the committed units' mean while open
        timed_out = running["grid"][1]["units"][2]
        assert (timed_out["status"], timed_out["attempt"], timed_out["solver"]) == ("open", 1, None)

        market.submitter.rounds_market.close_round(rounds_id)  # past the deadline, quorum 2 of 3
        indexer.run_until_head()

        page = client.get("/rounds").json()
        assert page["total"] == 1 and page["items"][0]["rounds_id"] == rounds_id
        assert client.get("/rounds", params={"status": "running"}).json()["total"] == 0
        detail = client.get(f"/rounds/{rounds_id}").json()
        assert detail["status"] == "finished"
        assert (detail["workers"], detail["rounds"], detail["quorum"]) == (3, 2, 2)
        assert detail["escrow"] == str(3 * 2 * 11 * CROWD)
        assert [r["included"] for r in detail["grid"]] == [[0, 1, 2], [0, 1]]
        first, second = detail["grid"]
        assert [u["job_id"] for u in first["units"]] == round0
        assert [u["job_id"] for u in second["units"]] == round1
        assert [u["loss"] for u in first["units"]] == [1.0, 2.0, 3.0]
        assert [u["status"] for u in first["units"]] == ["finalized"] * 3
        assert {u["solver"] for u in first["units"]} == {market.solver.address}
        assert first["loss"] == 2.0 and second["loss"] == 1.0
        assert [u["included"] for u in second["units"]] == [True, True, False]
        assert second["units"][2]["status"] == "cancelled"  # left open at the close
        assert all(u["disputes"] == 0 and u["convicted"] == [] for u in second["units"])
        assert client.get("/rounds/99").status_code == 404
        assert client.get("/rounds/0").status_code == 422

        # demo-report.html of this small real run: the API's own JSON and the chain's balances
        market.solver.market.withdraw()
        after = wealth()
        parties = {market.submitter.address: "submitter", market.solver.address: "solver"}
        outcome = DemoOutcome.model_validate(
            {
                "rounds": [detail],
                "disputes": client.get("/disputes").json()["items"],
                "balances": [
                    {"party": k, "before": str(before[k]), "after": str(after[k])} for k in before
                ],
                "parties": parties,
            }
        )
        page = check_report(outcome)
        ledger = client.get(f"/accounts/{market.solver.address}/ledger").json()
        burned = sum(int(x["amount"]) for x in ledger["slashes"])
        assert [x["kind"] for x in ledger["slashes"]] == ["solve_timeout"] and burned > 0
        change = after["solver"] - before["solver"]
        assert change == 5 * 10 * CROWD - burned  # five units paid, part of one lock burned
        assert page.cells[page.cells.index("solver") + 3] == f"+{change / CROWD:,.2f}"


def test_cancelled_rounds_job_shows_its_refund(market: Market, state: AppState) -> None:
    indexer = market.indexer(state)
    with TestClient(make_app(state)) as client:
        rounds_id = market.post_rounds(workers=2, rounds=3, quorum=1)
        units = market.deployer.rounds_market.round_jobs(rounds_id, 0)
        cancelled = market.submitter.rounds_market.cancel_rounds_job(rounds_id)
        indexer.run_until_head()
        detail = client.get(f"/rounds/{rounds_id}").json()
        # two rounds never opened, plus round 0's two open units
        assert cancelled.refund == 3 * 2 * 11 * CROWD
        assert detail["status"] == "cancelled" and detail["refund"] == str(cancelled.refund)
        assert [u["status"] for u in detail["grid"][0]["units"]] == ["cancelled", "cancelled"]
        assert client.get("/rounds", params={"status": "cancelled"}).json()["total"] == 1
        # both refunds are the submitter's own money: booked as refunds, never as earnings
        account = client.get(f"/accounts/{market.submitter.address}").json()
        assert account["earned"] == "0"
        assert account["credited"] == str(cancelled.refund)
        payouts = client.get(f"/accounts/{market.submitter.address}/ledger").json()["payouts"]
        assert sorted((p["kind"], p["job_id"] or 0, int(p["amount"])) for p in payouts) == [
            ("refund", 0, 2 * 2 * 11 * CROWD),  # rounds 1 and 2, never opened (no job)
            *(("refund", job_id, 11 * CROWD) for job_id in units),  # round 0's open units
        ]
