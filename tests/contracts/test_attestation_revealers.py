"""`revealersOf` (DISPUTES.md §6.6) names only the attesters that revealed a *valid* root for the
segment, whatever the position of that segment in the attester's list: a fraud proof slashes exactly
those. An attester assigned more than 256 segments that revealed a bogus root past position 256
is not among them."""

from __future__ import annotations

import pytest
from chain_dispute_kit import commit_full, register_verifiers
from eth_abi import encode as abi_encode
from protocol_kit import SEED_DELAY
from protocol_world import World
from web3 import Web3

pytestmark = pytest.mark.chain

N = 260  # segments; one attester samples all of them (sample rate 100%)
SALT = b"\x0a" * 32
BOGUS = Web3.keccak(text="a root the attester never computed")


def test_revealers_past_position_256_are_judged_by_their_proof(world: World) -> None:
    (attester,) = register_verifiers(world, 200 * 10**18, (4,))
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace = commit_full(
        world, submitter, solver, {}, steps=2 * N, checkpoint_every=2, sample_rate_bps=10_000
    )
    assert world.job(job_id).num_segments == N
    world.mine(SEED_DELAY)
    world.send(world.attestations.functions.recordSeed(job_id), world.owner)
    att = world.attestations.functions
    segments = [int(i) for i in att.assignedSegments(job_id, attester).call()]
    assert len(segments) == N
    bogus_at = {3, 256, 259}  # one position inside the first word of the mask, two past it
    roots = [BOGUS if t in bogus_at else trace.seg_root(i) for t, i in enumerate(segments)]
    hashes = [
        Web3.keccak(
            abi_encode(
                ["uint256", "uint256", "uint256", "bytes32", "address", "bytes32"],
                [job_id, 0, i, r, attester, SALT],
            )
        )
        for i, r in zip(segments, roots, strict=True)
    ]
    world.send(
        att.commitAttestation(job_id, Web3.keccak(abi_encode(["bytes32[]"], [hashes]))), attester
    )
    world.mine_at(world.job(job_id).deadline + 1)
    proofs = [trace.segments.proof(i - 1) for i in segments]
    reveal = att.revealAttestation(job_id, trace.commitment, roots, SALT, proofs)
    # 260 proofs take about 6.3M gas, past the 5M that `World.send` allows
    receipt = world.w3.eth.wait_for_transaction_receipt(
        reveal.transact({"from": attester, "gas": 10_000_000})
    )
    assert receipt["status"] == 1
    for t in (0, 3, 255, 256, 257, 259):
        revealers = [str(a) for a in att.revealersOf(job_id, 0, segments[t]).call()]
        assert revealers == ([] if t in bogus_at else [attester]), f"position {t}"
