"""``crowdtrain bench gas``: gas of every protocol action on a fresh Anvil, in steady state.

A warm-up job runs the whole happy path first (so the measured job pays no first-write costs for
the market's counters or the solver's credit slot), then a second job is measured: post, claim,
commit (a valid final-state proof for N=4, K=2), finalize after the challenge window, withdraw.
Stake, cancel, reclaimTimedOut and requestUnstake are measured alongside, then the dispute moves
(bench/gas_disputes.py) and rounds jobs' gas per unit and per round (bench/gas_rounds.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

from web3 import Web3

from node.chain.anvil import start_anvil
from node.chain.client import connect, increase_time
from node.chain.deploy import DeploymentParams, deploy_protocol
from node.chain.devnet import dev_account
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.types import Commitment, JobId
from node.chain.units import CROWD
from node.trace.merkle import MerkleTree, checkpoint_leaf

BAR = 400_000
HAPPY_PATH = ("postJob", "claimJob", "commitTrace", "finalizeJob", "withdraw")
SEGMENTS, CHECKPOINT_EVERY = 4, 2
REWARD, VERIFIER_FEE = 10 * CROWD, 1 * CROWD
SOLVE_TIMEOUT = 600


def _gas(w3: Web3, tx_hash: str) -> int:
    return int(w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])  # type: ignore[arg-type]


class _Bench:
    def __init__(self, protocol: Protocol) -> None:
        self.w3 = protocol.w3
        self.submitter = protocol.as_account(dev_account(1))
        self.solver = protocol.as_account(dev_account(2))
        self.actions: dict[str, int] = {}

    def post(self, label: str | None = None) -> JobId:
        spec_hash = hashlib.sha256(f"bench-{self.submitter.market.job_count()}".encode()).digest()
        posted = self.submitter.post_job(
            spec_hash=spec_hash,
            steps=SEGMENTS * CHECKPOINT_EVERY,
            checkpoint_every=CHECKPOINT_EVERY,
            reward=REWARD,
            verifier_fee=VERIFIER_FEE,
            solve_timeout=SOLVE_TIMEOUT,
            sample_rate_bps=1_000,
        )
        self.record(label, posted.tx_hash)
        return posted.job_id

    def happy_path(self, *, measure: bool) -> None:
        def label(name: str) -> str | None:
            return name if measure else None

        job_id = self.post(label("postJob"))
        claimed = self.solver.market.claim_job(job_id)
        self.record(label("claimJob"), claimed.tx_hash)
        state_hashes = [
            hashlib.sha256(f"state-{job_id}-{i}".encode()).digest() for i in range(SEGMENTS + 1)
        ]
        tree = MerkleTree.build(
            [checkpoint_leaf(job_id, claimed.attempt, i, h) for i, h in enumerate(state_hashes)]
        )
        commitment = Commitment(
            state_root=tree.root,
            seg_roots_root=hashlib.sha256(b"segRootsRoot").digest(),
            final_state_hash=state_hashes[-1],
            manifest_hash=hashlib.sha256(b"manifest").digest(),
        )
        committed = self.solver.market.commit_trace(job_id, commitment, tree.proof(SEGMENTS))
        self.record(label("commitTrace"), committed.tx_hash)
        market = self.solver.market
        increase_time(self.w3, market.challenge_window() + market.reveal_phase() + 1)
        finalized = self.solver.market.finalize_job(job_id)
        self.record(label("finalizeJob"), finalized.tx_hash)
        withdrawn = self.solver.market.withdraw()
        self.record(label("withdraw"), withdrawn.tx_hash)

    def record(self, label: str | None, tx_hash: str) -> None:
        if label is not None:
            self.actions[label] = _gas(self.w3, tx_hash)


def run_gas_bench() -> dict[str, Any]:
    """Gas used by each action; ``happy_path_total`` sums post+claim+commit+finalize+withdraw."""
    anvil = start_anvil()
    try:
        w3 = connect(anvil.rpc_url)
        decoder = project_decoder()
        deployer = dev_account(0)
        deployment = deploy_protocol(TxSender(w3, deployer, decoder), DeploymentParams())
        owner = Protocol.from_deployment(w3, deployment, deployer, decoder=decoder)
        bench = _Bench(owner)
        for party in (bench.submitter, bench.solver):
            owner.token.mint(party.address, 1_000_000 * CROWD)

        bench.solver.token.approve(bench.solver.registry.address, 2**256 - 1)
        staked = bench.solver.registry.stake(1_000 * CROWD)
        bench.actions["stake"] = staked.gas_used
        bench.submitter.token.approve(bench.submitter.market.address, 2**256 - 1)

        bench.happy_path(measure=False)  # warm-up
        bench.happy_path(measure=True)

        cancelled_id = bench.post()
        bench.record("cancelJob", bench.submitter.market.cancel_job(cancelled_id).tx_hash)

        timed_out_id = bench.post()
        bench.solver.market.claim_job(timed_out_id)
        increase_time(w3, SOLVE_TIMEOUT + 1)
        bench.record("reclaimTimedOut", bench.solver.market.reclaim_timed_out(timed_out_id).tx_hash)

        bench.actions["requestUnstake"] = bench.solver.registry.request_unstake(
            100 * CROWD
        ).gas_used
        total = sum(bench.actions[name] for name in HAPPY_PATH)
        from bench.gas_disputes import run_dispute_gas
        from bench.gas_rounds import run_rounds_gas

        disputes = run_dispute_gas(owner, bench.submitter, bench.solver)
        rounds = run_rounds_gas(bench.submitter, bench.solver)
        return {
            "actions": bench.actions,
            "happy_path_total": total,
            "bar": BAR,
            **disputes,
            **rounds,
        }
    finally:
        anvil.stop()
