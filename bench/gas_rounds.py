"""Gas of rounds jobs (issue 13, docs/ROUNDS.md "Gas"), measured through the real adapters.

A rounds job of W slots by R rounds runs its happy path: post (round 0 opens), each round's units
claimed, committed (a valid final-state proof for N=4, K=2, as the single-job bench) and finalized,
each unit's reward withdrawn, and each round closed (the last close finishes the job). A warm-up
rounds job runs first, so the measured one pays no first-write costs of the contracts' counters.

``gas_per_unit`` = (postRoundsJob + every closeRound) / (W·R) + the mean of a unit's claim, commit,
finalize and withdraw: the figure comparable to the single-job happy path (post, claim, commit,
finalize, withdraw). ``gas_per_round`` = (postRoundsJob + every closeRound) / R + W times the unit's
own actions.
"""

from __future__ import annotations

import hashlib
from typing import Any

from node.chain.client import increase_time
from node.chain.protocol import Protocol
from node.chain.types import Commitment
from node.chain.units import CROWD
from node.trace.merkle import MerkleTree, checkpoint_leaf

SEGMENTS, CHECKPOINT_EVERY = 4, 2
UNIT_REWARD, UNIT_VERIFIER_FEE = 10 * CROWD, 1 * CROWD
SOLVE_TIMEOUT = 600
UNIT_ACTIONS = ("claimJob", "commitTrace", "finalizeJob", "withdraw")
SHAPES = ((3, 2), (3, 4), (4, 8))
"""(W, R): the demo's rounds job, a longer one, and the `bench rounds` quality run's."""


def _commitment(job_id: int, attempt: int) -> tuple[Commitment, list[bytes]]:
    hashes = [hashlib.sha256(f"unit-{job_id}-{i}".encode()).digest() for i in range(SEGMENTS + 1)]
    tree = MerkleTree.build([checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(hashes)])
    commitment = Commitment(
        state_root=tree.root,
        seg_roots_root=hashlib.sha256(b"segRootsRoot").digest(),
        final_state_hash=hashes[-1],
        manifest_hash=hashlib.sha256(b"manifest").digest(),
    )
    return commitment, tree.proof(SEGMENTS)


def _run_rounds_job(
    submitter: Protocol, solver: Protocol, workers: int, rounds: int
) -> dict[str, int]:
    """One rounds job's happy path; the summed gas of each action."""
    market = submitter.rounds_market
    challenge_wait = solver.market.challenge_window() + solver.market.reveal_phase() + 1
    round_timeout = SOLVE_TIMEOUT + challenge_wait
    spent = dict.fromkeys(("postRoundsJob", "closeRound", *UNIT_ACTIONS), 0)
    posted = submitter.post_rounds_job(
        spec_hash=hashlib.sha256(f"rounds-{market.rounds_job_count()}".encode()).digest(),
        workers=workers,
        rounds=rounds,
        quorum=workers,
        inner_steps=SEGMENTS * CHECKPOINT_EVERY,
        checkpoint_every=CHECKPOINT_EVERY,
        unit_reward=UNIT_REWARD,
        unit_verifier_fee=UNIT_VERIFIER_FEE,
        solve_timeout=SOLVE_TIMEOUT,
        round_timeout=round_timeout,
        sample_rate_bps=1_000,
    )
    spent["postRoundsJob"] += _gas(submitter, posted.tx_hash)
    for round_ in range(rounds):
        job_ids = market.round_jobs(posted.rounds_id, round_)
        for job_id in job_ids:
            claimed = solver.market.claim_job(job_id)
            spent["claimJob"] += _gas(solver, claimed.tx_hash)
            commitment, proof = _commitment(job_id, claimed.attempt)
            committed = solver.market.commit_trace(job_id, commitment, proof)
            spent["commitTrace"] += _gas(solver, committed.tx_hash)
        increase_time(solver.w3, challenge_wait)
        for job_id in job_ids:
            spent["finalizeJob"] += _gas(solver, solver.market.finalize_job(job_id).tx_hash)
            spent["withdraw"] += _gas(solver, solver.market.withdraw().tx_hash)
        closed = submitter.rounds_market.close_round(posted.rounds_id)
        spent["closeRound"] += _gas(submitter, closed.tx_hash)
    return spent


def _gas(protocol: Protocol, tx_hash: str) -> int:
    return int(protocol.w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])  # type: ignore[arg-type]


def run_rounds_gas(submitter: Protocol, solver: Protocol) -> dict[str, Any]:
    """Gas per unit and per round of each shape in ``SHAPES``; the solver needs W locks free."""
    submitter.token.approve(submitter.rounds_market.address, 2**256 - 1)
    _run_rounds_job(submitter, solver, 2, 1)  # warm-up
    shapes: dict[str, Any] = {}
    for workers, rounds in SHAPES:
        spent = _run_rounds_job(submitter, solver, workers, rounds)
        units = workers * rounds
        gates = spent["postRoundsJob"] + spent["closeRound"]
        own = sum(spent[name] for name in UNIT_ACTIONS)
        shapes[f"W{workers}xR{rounds}"] = {
            "actions": spent,
            "gas_per_unit": (gates + own) // units,
            "gas_per_round": (gates + own) // rounds,
            "gates_per_unit": gates // units,
        }
    return {"rounds": shapes}
