"""The chain figures of ``crowdtrain bench rounds``: ``gas_per_unit`` and ``gate_wait_share``.

A rounds job of W slots by R rounds runs on a fresh Anvil with the devnet's deployment parameters
(challenge window, reveal phase): every unit is claimed, committed (a valid final-state proof over
synthetic state hashes, as ``bench gas`` does: the chain never sees a tensor) and finalized after its
window, then ``closeRound`` opens the next round. Gas of every transaction is read from its receipt:

* ``gas_per_unit``: (``postRoundsJob`` + every ``closeRound`` + each unit's ``claimJob``,
  ``commitTrace``, ``finalizeJob`` and the solver's ``withdraw``) / (W·R), next to the single-job
  happy path (post, claim, commit, finalize, withdraw) measured on the same chain
  (``single_job_happy_path``): the issue's target is ``gas_per_unit`` ≤ that.
* ``gate_wait_share``: a round cannot start before the previous round's units are final, so each
  round waits, after its last commit, for the challenge window and the reveal phase (chain
  seconds from the last commit to ``closeRound``, at the devnet's window). Units of a round train
  in parallel on W machines, so a round's wall time is one unit's training time plus that wait;
  the share is wait / (train + wait), with the unit's training time measured by the offline bench
  (its rounds run's seconds / (W·R), every unit on this machine).
"""

from __future__ import annotations

import hashlib
from typing import Any

from web3 import Web3

from bench.gas import _Bench
from node.chain.anvil import start_anvil
from node.chain.client import connect, increase_time
from node.chain.deploy import DeploymentParams, deploy_protocol
from node.chain.devnet import dev_account
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.types import Commitment, RoundsStatus
from node.chain.units import CROWD
from node.trace.merkle import MerkleTree, checkpoint_leaf

SEGMENTS, CHECKPOINT_EVERY = 4, 2
UNIT_REWARD, UNIT_FEE = 10 * CROWD, 1 * CROWD
SOLVE_TIMEOUT = 600
UNIT_TXS = ("claimJob", "commitTrace", "finalizeJob", "withdraw")


def _receipt(w3: Web3, tx_hash: str) -> tuple[int, int]:
    """(gasUsed, block timestamp) of a mined transaction."""
    receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    block = w3.eth.get_block(receipt["blockNumber"])
    return int(receipt["gasUsed"]), int(block["timestamp"])


def _commitment(job_id: int, attempt: int) -> tuple[Commitment, list[bytes]]:
    hashes = [hashlib.sha256(f"unit-{job_id}-{i}".encode()).digest() for i in range(SEGMENTS + 1)]
    tree = MerkleTree.build([checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(hashes)])
    commitment = Commitment(
        state_root=tree.root,
        seg_roots_root=hashlib.sha256(b"segRootsRoot").digest(),
        final_state_hash=hashes[-1],
        manifest_hash=hashlib.sha256(f"manifest-{job_id}".encode()).digest(),
    )
    return commitment, tree.proof(SEGMENTS)


def _run_rounds_job(owner: Protocol, workers: int, rounds: int) -> dict[str, Any]:
    w3 = owner.w3
    submitter, solver = owner.as_account(dev_account(1)), owner.as_account(dev_account(2))
    window = owner.market.challenge_window() + owner.market.reveal_phase()
    gas: dict[str, int] = dict.fromkeys(("postRoundsJob", "closeRound", *UNIT_TXS), 0)
    posted = submitter.post_rounds_job(
        spec_hash=hashlib.sha256(b"bench-rounds").digest(),
        workers=workers,
        rounds=rounds,
        quorum=workers,
        inner_steps=SEGMENTS * CHECKPOINT_EVERY,
        checkpoint_every=CHECKPOINT_EVERY,
        unit_reward=UNIT_REWARD,
        unit_verifier_fee=UNIT_FEE,
        solve_timeout=SOLVE_TIMEOUT,
        round_timeout=SOLVE_TIMEOUT + window,
        sample_rate_bps=1_000,
    )
    gas["postRoundsJob"] += _receipt(w3, posted.tx_hash)[0]
    rm = solver.rounds_market
    waits: list[int] = []
    for round_ in range(rounds):
        jobs = rm.round_jobs(posted.rounds_id, round_)
        last_commit = 0
        for job_id in jobs:
            claimed = solver.market.claim_job(job_id)
            gas["claimJob"] += _receipt(w3, claimed.tx_hash)[0]
            commitment, proof = _commitment(job_id, claimed.attempt)
            committed = solver.market.commit_trace(job_id, commitment, proof)
            used, last_commit = _receipt(w3, committed.tx_hash)
            gas["commitTrace"] += used
        increase_time(w3, window + 1)
        for job_id in jobs:
            gas["finalizeJob"] += _receipt(w3, solver.market.finalize_job(job_id).tx_hash)[0]
            gas["withdraw"] += _receipt(w3, solver.market.withdraw().tx_hash)[0]
        used, closed_at = _receipt(w3, rm.close_round(posted.rounds_id).tx_hash)
        gas["closeRound"] += used
        waits.append(closed_at - last_commit)
    assert rm.get_rounds_job(posted.rounds_id).status is RoundsStatus.FINISHED
    units = workers * rounds
    return {
        "gas_per_unit": round(sum(gas.values()) / units),
        "gas_per_round": round(sum(gas.values()) / rounds),
        "gas_by_action": gas,
        "gate_wait_s_per_round": sum(waits) / len(waits),
    }


def run_rounds_chain_bench(workers: int, rounds: int) -> dict[str, Any]:
    """Gas per unit and per round of a W x R rounds job, the single-job happy path beside it,
    and the chain seconds each round waits on its gate (devnet window)."""
    anvil = start_anvil()
    try:
        w3 = connect(anvil.rpc_url)
        decoder = project_decoder()
        deployer = dev_account(0)
        deployment = deploy_protocol(TxSender(w3, deployer, decoder), DeploymentParams())
        owner = Protocol.from_deployment(w3, deployment, deployer, decoder=decoder)
        single = _Bench(owner)
        for party in (single.submitter, single.solver):
            owner.token.mint(party.address, 1_000_000 * CROWD)
        single.solver.token.approve(single.solver.registry.address, 2**256 - 1)
        single.solver.registry.stake(10_000 * CROWD)
        single.submitter.token.approve(single.submitter.market.address, 2**256 - 1)
        single.happy_path(measure=False)  # warm-up: first writes of the market's slots
        single.happy_path(measure=True)
        figures = _run_rounds_job(owner, workers, rounds)
        figures["single_job_happy_path"] = sum(single.actions.values())
        return figures
    finally:
        anvil.stop()


def add_chain_figures(report: dict[str, Any]) -> dict[str, Any]:
    """Fill ``bench rounds``'s chain keys (``bench.rounds.CHAIN_KEYS``) in ``report``."""
    config = report["config"]
    workers, rounds = int(config["workers"]), int(config["rounds"])
    chain = run_rounds_chain_bench(workers, rounds)
    unit_train_s = float(report["seconds"]["rounds"]) / (workers * rounds)
    wait = float(chain["gate_wait_s_per_round"])
    report.update(
        gas_per_unit=chain["gas_per_unit"],
        gate_wait_share=round(wait / (unit_train_s + wait), 4),
        chain={
            **{k: v for k, v in chain.items() if k != "gas_per_unit"},
            "unit_train_s": round(unit_train_s, 3),
        },
    )
    return report
