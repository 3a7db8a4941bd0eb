"""An attestation round and one full dispute played on Anvil, indexed, and read back through the
job detail, ``/disputes``, the leaderboards and ``/stats``: every figure must be what the chain did."""

from __future__ import annotations

from typing import Any

from api_dispute_kit import Played, play
from api_kit import CROWD, Market, make_app
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from marketplace_api.api.state import AppState
from marketplace_api.indexer.indexer import rebuild_projections

JUROR_FEE = 10 * CROWD * 100 // 10_000
BOND = 10 * CROWD
FEE = BOND * 5_000 // 10_000  # challengeFeeBps of the bond, burned with the lost challenge


def test_dispute_and_attestations_through_the_api(
    market: Market, state: AppState, dev_accounts: list[LocalAccount]
) -> None:
    played = play(market, dev_accounts[4:9])
    market.indexer(state).run_until_head()
    with TestClient(make_app(state)) as client:
        _check_job(client.get(f"/jobs/{played.job_id}").json(), played, market)
        _check_dispute(client, played, market)
        _check_accounts(client, played, market)
        shell = client.get("/ui/disputes")
        assert shell.status_code == 200 and 'id="disputes"' in shell.text
        assert 'id="attestations"' in client.get(f"/ui/jobs/{played.job_id}").text
        stats = client.get("/stats").json()
        assert stats["disputes_total"] == 1
        assert stats["disputes_by_outcome"]["challenger_wrong"] == 1
        assert stats["attestations_revealed"] == 2

        # A replay of the events table (the reorg path) rebuilds the very same answers.
        before = client.get(f"/disputes/{played.dispute_id}").json()
        with state.sessions() as session, session.begin():
            rebuild_projections(session)
        assert client.get(f"/disputes/{played.dispute_id}").json() == before


def _check_job(job: dict[str, Any], played: Played, market: Market) -> None:
    assert job["status"] == "finalized"
    rows = {a["attester"]: a for a in job["attestations"]}
    assert list(rows) == played.attesters
    per_segment = CROWD // 3
    for attester in played.attesters:
        row = rows[attester]
        assert row["segments"] == played.assigned[attester] and row["committed"]
        assert row["revealed"] == (attester in played.revealed)
        if attester in played.revealed:
            assert row["valid_segments"] == 1 and row["paid"] == str(per_segment)
            assert row["seg_roots"] == [
                "0x" + played.trace.seg_root(i).hex() for i in row["segments"]
            ]
        else:
            assert row["valid_segments"] == 0 and row["paid"] == "0"
    (dispute,) = job["disputes"]
    assert dispute["dispute_id"] == played.dispute_id and dispute["outcome"] == "challenger_wrong"
    names = [m["name"] for m in dispute["moves"] if m["contract"] == "DisputeGame"]
    assert names == [*played.moves, "JurorSlashed", "DisputeResolved"]


def _check_dispute(client: TestClient, played: Played, market: Market) -> None:
    d = client.get(f"/disputes/{played.dispute_id}").json()
    solver = market.solver.address
    k = 2
    assert (d["kind"], d["target"], d["segment"]) == ("segment", "none", played.segment)
    assert (d["challenger"], d["solver"], d["bond"]) == (played.challenger, solver, str(BOND))
    assert d["phase"] == "resolved" and d["status"] == "resolved"
    assert d["jury_verdict"] == "challenger_wrong" and d["winner"] == solver
    # the challenger disagreed from step (i-1)·K + 1: the pinned step is (i-1)·K
    assert d["pinned_step"] == (played.segment - 1) * k and (d["lo"], d["hi"]) == (0, 1)
    assert d["hash_before"] == "0x" + played.trace.hashes[(played.segment - 1) * k].hex()
    assert d["jury_fees"] == str(2 * JUROR_FEE)
    to_solver = (BOND - 2 * JUROR_FEE) // 2
    assert d["winner_paid"] == str(to_solver) and d["burned"] == str(
        BOND - 2 * JUROR_FEE - to_solver
    )
    roles = [(m["name"], m["role"], m["actor"]) for m in d["moves"]]
    assert roles[:4] == [
        ("ChallengeCommitted", "challenger", played.challenger),
        ("DisputeOpened", "challenger", played.challenger),
        ("SegmentOpened", "solver", solver),
        ("SplitProposed", "solver", solver),
    ]
    assert ("RangeChosen", "challenger", played.challenger) in roles
    sealed, opened = d["moves"][:2]  # the commit came in an earlier block than its reveal
    assert sealed["block_number"] < opened["block_number"] == d["opened_block"]
    assert sealed["args"] == {
        "hash": "0x" + played.challenge_hash.hex(),
        "challenger": played.challenger,
        "commit_seq": d["commit_seq"],
    }
    assert d["commit_seq"] == opened["args"]["commit_seq"] >= 1
    blocks = [(m["block_number"], m["log_index"]) for m in d["moves"]]
    assert blocks == sorted(blocks) and all(m["block_time"] for m in d["moves"])
    (panel,) = d["jury"]
    assert panel["jurors"] == played.jurors and panel["drawn"] == 3
    votes = {v["voter"]: v for v in panel["votes"]}
    assert votes[solver]["role"] == "solver" and votes[played.challenger]["matches_solver"] is False
    for juror in played.jurors[:2]:
        assert votes[juror]["matches_solver"] is True and votes[juror]["fee"] == str(JUROR_FEE)
    silent = votes[played.silent_juror]
    assert not silent["revealed"] and silent["matches_solver"] is None
    assert silent["fee"] == "0" and silent["slashed"] == str(5 * CROWD)
    payouts = sorted((p["kind"], p["account"], p["amount"]) for p in d["payouts"])
    assert payouts == sorted(
        [("jury_fee", j, str(JUROR_FEE)) for j in played.jurors[:2]]
        + [("bond_share", solver, str(to_solver))]
    )
    slashes = sorted((s["kind"], s["account"], s["amount"]) for s in d["slashes"])
    assert slashes == sorted(
        [
            ("bond", played.challenger, str(BOND)),
            ("challenge_fee", played.challenger, str(FEE)),
            ("juror", played.silent_juror, str(5 * CROWD)),
        ]
    )
    assert d["challenge_fee"] == str(FEE) and d["convicted_by"] is None

    page = client.get("/disputes", params={"outcome": "challenger_wrong"}).json()
    assert page["total"] == 1 and page["items"][0]["dispute_id"] == played.dispute_id
    assert client.get("/disputes", params={"outcome": "solver_wrong"}).json()["total"] == 0
    assert (
        client.get("/disputes", params={"account": played.challenger.lower()}).json()["total"] == 1
    )
    assert client.get("/disputes", params={"job_id": played.job_id + 1}).json()["items"] == []
    assert client.get("/disputes/999999").status_code == 404
    assert client.get("/disputes", params={"kind": "nope"}).status_code == 422


def _check_accounts(client: TestClient, played: Played, market: Market) -> None:
    solver = client.get(f"/accounts/{market.solver.address}").json()
    to_solver = (BOND - 2 * JUROR_FEE) // 2
    assert solver["earnings"] == {"reward": str(10 * CROWD), "bond_share": str(to_solver)}
    assert solver["earned"] == str(10 * CROWD + to_solver)
    verifiers = {v["address"]: v for v in client.get("/verifiers").json()["items"]}
    first = verifiers[played.revealed[0]]
    assert first["earnings"].get("attestation_fee") == str(CROWD // 3)
    assert verifiers[played.challenger]["slashes"] == {"bond": str(BOND), "challenge_fee": str(FEE)}
    assert verifiers[played.silent_juror]["slashes"] == {"juror": str(5 * CROWD)}
    ledger = client.get(f"/accounts/{played.jurors[0]}/ledger").json()
    assert ("jury_fee", str(JUROR_FEE)) in [(p["kind"], p["amount"]) for p in ledger["payouts"]]
    submitter = client.get(f"/accounts/{market.submitter.address}/ledger").json()
    assert [(p["kind"], p["amount"]) for p in submitter["payouts"]] == [
        ("refund", str(CROWD - 2 * (CROWD // 3)))
    ]
