"""Shared builders for chain tests."""

from __future__ import annotations

import hashlib

from node.chain.events import JobCommitted, JobPosted
from node.chain.protocol import Protocol
from node.chain.types import Commitment
from node.chain.units import CROWD
from node.trace.merkle import MerkleTree, checkpoint_leaf

SEGMENTS, CHECKPOINT_EVERY = 4, 2
REWARD, VERIFIER_FEE = 10 * CROWD, 1 * CROWD
SOLVE_TIMEOUT = 600


def post(submitter: Protocol, tag: str = "job", **overrides: int) -> JobPosted:
    args = {
        "steps": SEGMENTS * CHECKPOINT_EVERY,
        "checkpoint_every": CHECKPOINT_EVERY,
        "reward": REWARD,
        "verifier_fee": VERIFIER_FEE,
        "solve_timeout": SOLVE_TIMEOUT,
        "sample_rate_bps": 1_000,
        **overrides,
    }
    return submitter.post_job(spec_hash=hashlib.sha256(tag.encode()).digest(), **args)


def commitment_for(
    job_id: int, attempt: int, segments: int = SEGMENTS
) -> tuple[Commitment, list[bytes]]:
    """A synthetic commitment with a valid final-state proof (checkpoint leaf N)."""
    hashes = [
        hashlib.sha256(f"state {job_id} {attempt} {i}".encode()).digest()
        for i in range(segments + 1)
    ]
    tree = MerkleTree.build([checkpoint_leaf(job_id, attempt, i, h) for i, h in enumerate(hashes)])
    commitment = Commitment(
        state_root=tree.root,
        seg_roots_root=hashlib.sha256(b"segRootsRoot").digest(),
        final_state_hash=hashes[-1],
        manifest_hash=hashlib.sha256(b"manifest").digest(),
    )
    return commitment, tree.proof(segments)


def claim_and_commit(solver: Protocol, job_id: int) -> JobCommitted:
    claimed = solver.market.claim_job(job_id)
    commitment, proof = commitment_for(job_id, claimed.attempt)
    return solver.market.commit_trace(job_id, commitment, proof)
