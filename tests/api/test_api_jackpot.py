"""A conviction shared by two open challenges of the same segment, indexed and read back: the
convicting dispute pays both challengers an equal jackpot share, the other ends Void with
``convicted_by`` (``JackpotShared``), and each burned its challenge fee."""

from __future__ import annotations

from api_dispute_kit import SALT, keccak_abi, register_verifiers
from api_kit import Market, make_app
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from full_trace import FullTrace

from marketplace_api.api.state import AppState
from node.chain.client import increase_time, mine

SEGMENT = 2


def test_a_shared_jackpot_is_indexed_per_challenger(
    market: Market, state: AppState, dev_accounts: list[LocalAccount]
) -> None:
    first, second = register_verifiers(market, dev_accounts[4:6])
    market.stake_solver()
    (job_id,) = market.post(1)
    claimed = market.solver.market.claim_job(job_id)
    job = market.solver.market.get_job(job_id)
    trace = FullTrace.make(job_id, claimed.attempt, job.num_segments, job.checkpoint_every)
    market.solver.market.commit_trace(
        job_id, trace.typed_commitment, trace.checkpoints.proof(job.num_segments)
    )
    lock = market.solver.market.solver_lock_of(job_id)
    fee = market.solver.dispute_game.challenge_fee_of(job_id)
    for player in (first, second):
        player.dispute_game.commit_challenge(
            keccak_abi(
                ["uint256", "uint256", "uint256", "address", "bytes32"],
                [job_id, claimed.attempt, SEGMENT, player.address, SALT],
            )
        )
    mine(market.w3, 1)  # a reveal comes in a later block than its commit
    convicting = int(first.dispute_game.reveal_challenge(job_id, SEGMENT, SALT).dispute_id)
    sharing = int(second.dispute_game.reveal_challenge(job_id, SEGMENT, SALT).dispute_id)
    # the solver never opens segment 2: its clock runs out and the first challenge convicts it
    increase_time(market.w3, 121)
    first.dispute_game.timeout(convicting)
    market.indexer(state).run_until_head()

    jackpot = lock * 5_000 // 10_000  # jackpotBps of the lock (no jury, no fees)
    share = jackpot // 2
    with TestClient(make_app(state)) as client:
        won = client.get(f"/disputes/{convicting}").json()
        assert (won["outcome"], won["winner"]) == ("solver_wrong", first.address)
        assert won["winner_paid"] == str(jackpot - share) and won["convicted_by"] is None
        jackpots = sorted(
            (p["account"], p["amount"]) for p in won["payouts"] if p["kind"] == "jackpot"
        )
        assert jackpots == sorted(
            [(first.address, str(jackpot - share)), (second.address, str(share))]
        )
        shared = client.get(f"/disputes/{sharing}").json()
        assert (shared["outcome"], shared["convicted_by"]) == ("void", convicting)
        assert shared["winner_paid"] == str(share)
        assert ("JackpotShared", "protocol", second.address) in [
            (m["name"], m["role"], m["actor"]) for m in shared["moves"]
        ]
        for dispute, player in ((won, first), (shared, second)):
            assert dispute["challenge_fee"] == str(fee)
            verifier = client.get(f"/accounts/{player.address}").json()
            assert verifier["slashes"] == {"challenge_fee": str(fee)}
        assert client.get(f"/accounts/{second.address}").json()["earnings"] == {
            "jackpot": str(share)
        }
