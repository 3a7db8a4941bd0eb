"""Attestations and verifier draws: seeds, snapshot draws (sybil stake), assignment, fees, copying."""

from __future__ import annotations

import pytest
from chain_dispute_kit import (
    ATTESTATION_SALT,
    attestation_digest,
    commit_full,
    draw_attesters,
    register_verifiers,
)
from protocol_kit import CHALLENGE_WINDOW, ETHER, REVEAL_PHASE, SEED_DELAY
from protocol_world import World

from verifier.assignment import assigned_segments

pytestmark = pytest.mark.chain

FEE = 2 * ETHER
SALT = ATTESTATION_SALT


def test_honest_attestations_are_paid_per_segment(world: World) -> None:
    register_verifiers(world, 200 * ETHER)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace = commit_full(
        world, submitter, solver, {}, verifier_fee=FEE, sample_rate_bps=6_000
    )
    attesters = draw_attesters(world, job_id)
    assert len(attesters) == 3 and solver not in attesters and len(set(attesters)) == 3
    att = world.attestations.functions
    assigned = {a: [int(i) for i in att.assignedSegments(job_id, a).call()] for a in attesters}
    # S = ceil(0.6·8) = 5 positions split 2/2/1 in draw order; one permutation: no overlap
    assert [len(assigned[a]) for a in attesters] == [2, 2, 1]
    assert len({i for s in assigned.values() for i in s}) == 5
    seed = bytes(att.seedOf(job_id, 0).call()[1])
    assert [assigned[a] for a in attesters] == assigned_segments(seed, 8, 6_000, 3)
    # a copier commits someone else's digest: the attester address binds it
    first, second, absent = attesters
    roots = {a: [trace.seg_root(i) for i in assigned[a]] for a in attesters}
    for a in (first, second):
        world.send(
            att.commitAttestation(job_id, attestation_digest(job_id, 0, assigned[a], roots[a], a)),
            a,
        )
    world.expect_revert(
        att.commitAttestation(job_id, b"\x00" * 32),
        absent,
        "AttestationsAlreadyCommitted",
        job_id,
        absent,
    )
    world.mine_at(world.job(job_id).deadline + 1)
    proofs = {a: [trace.segments.proof(i - 1) for i in assigned[a]] for a in attesters}
    world.expect_revert(
        att.revealAttestation(job_id, trace.commitment, roots[first], SALT, proofs[first]),
        second,
        "AttestationsDigestMismatch",
        job_id,
        second,
    )  # copying the first attester's roots (from the mempool) does not open the second's digest
    for a in (first, second):
        world.send(att.revealAttestation(job_id, trace.commitment, roots[a], SALT, proofs[a]), a)
    world.expect_revert(
        att.commitAttestation(job_id, b"\x01" * 32), absent, "AttestationsCommitClosed", job_id
    )
    world.mine_at(world.job(job_id).deadline + REVEAL_PHASE + 1)
    world.send(world.market.functions.finalizeJob(job_id), world.owner)
    per_segment = FEE // 5
    assert world.credit(first) == world.credit(second) == 2 * per_segment
    assert world.credit(absent) == 0
    assert world.credit(submitter) == FEE - 4 * per_segment  # no-show share and dust


def test_sybil_stake_after_the_commit_is_neverdraw_attesters(world: World) -> None:
    register_verifiers(world, 100 * ETHER, (4, 5))
    submitter, solver, sybil = world.accounts[1], world.accounts[2], world.accounts[6]
    job_id, _ = commit_full(world, submitter, solver, {})
    commit_block = world.job(job_id).commit_block
    register_verifiers(world, 10_000 * ETHER, (6,))  # after the seed target is fixed
    assert world.registry.functions.verifierWeightAt(sybil, commit_block).call() == 0
    assert world.registry.functions.activeVerifiersAt(commit_block).call() == 2
    attesters = draw_attesters(world, job_id)
    assert sorted(attesters) == sorted([world.accounts[4], world.accounts[5]])
    latest = world.w3.eth.block_number - 1
    drawn, weights = world.registry.functions.drawVerifiers(
        b"\x01" * 32, 10, [solver], latest
    ).call()
    assert len(drawn) == 3 and len(set(drawn)) == 3 and sorted(weights)[-1] == 10_000 * ETHER


def test_an_old_seed_target_moves(world: World) -> None:
    register_verifiers(world, 100 * ETHER, (4,))
    job_id, _ = commit_full(world, world.accounts[1], world.accounts[2], {})
    att = world.attestations.functions
    target = world.job(job_id).commit_block + SEED_DELAY
    world.expect_revert(
        att.recordSeed(job_id), world.owner, "AttestationsSeedNotReady", job_id, target
    )
    world.mine(300)
    receipt = world.send(att.recordSeed(job_id), world.owner)
    ((name, args),) = world.logs(receipt)
    assert (
        name == "AttesterSeedMoved" and args["targetBlock"] == receipt["blockNumber"] + SEED_DELAY
    )
    assert draw_attesters(world, job_id) == [world.accounts[4]]
    world.expect_revert(att.recordSeed(job_id), world.owner, "AttestationsSeedRecorded", job_id, 0)
    assert CHALLENGE_WINDOW > 0
