"""The bonded outer-step aggregator (docs/ROUNDS.md, "Aggregator"): a publication locks the
publisher's stake, an honest one is released after the next round closes, a wrong one is disproved
by a Finalized unit of the next round whose committed checkpoint 0 differs; exact balances."""

from __future__ import annotations

import pytest
from protocol_kit import DEAD, MIN_SOLVER_STAKE
from protocol_world import Trace, World
from rounds_kit import ROUND_TIMEOUT, close, finalize, post_rounds, solve, units
from web3 import Web3

from node.trace.merkle import MerkleTree, checkpoint_leaf

pytestmark = pytest.mark.chain

OUTER_HASH = Web3.keccak(text="the outer blob of round 0")


def state0_hash(tag: str) -> bytes:
    """Checkpoint 0 of ``Trace.make(..., tag)``."""
    return bytes(Web3.keccak(text=f"state-{tag}-0"))


def checkpoint0_proof(
    world: World, job_id: int, tag: str
) -> tuple[list[bytes], bytes, list[bytes]]:
    """(commitment preimage, stateHash0, Merkle proof of checkpoint 0) of the unit's committed trace."""
    job = world.job(job_id)
    trace = Trace.make(job_id, job.attempt, job.num_segments, tag)
    hashes = [Web3.keccak(text=f"state-{tag}-{i}") for i in range(job.num_segments + 1)]
    tree = MerkleTree.build(
        [checkpoint_leaf(job_id, job.attempt, i, h) for i, h in enumerate(hashes)]
    )
    commitment = [
        trace.state_root,
        trace.seg_roots_root,
        trace.final_state_hash,
        trace.manifest_hash,
    ]
    return commitment, hashes[0], tree.proof(0)


def round_zero_closed(world: World, submitter: str, solver: str, rounds: int = 3) -> int:
    """A W = 2 rounds job whose round 0 closed with both units; round 1 is open."""
    rounds_id, _ = post_rounds(world, submitter, workers=2, rounds=rounds, quorum=2)
    first = units(world, rounds_id, 0)
    for w, job_id in enumerate(first):
        solve(world, job_id, solver, f"r0s{w}")
    finalize(world, *first)
    close(world, rounds_id)
    return rounds_id


def test_honest_publication_locks_the_bond_until_the_next_round_closes(world: World) -> None:
    submitter, solver, aggregator = world.accounts[1], world.accounts[2], world.accounts[4]
    rounds_id = round_zero_closed(world, submitter, solver)
    bond = int(world.rounds.functions.outerBond().call())
    assert bond == MIN_SOLVER_STAKE
    world.stake(aggregator, bond)
    honest = [state0_hash("r1s0"), state0_hash("r1s1")]

    # not the round just closed, or a wrong length: refused
    publish = world.rounds.functions.publishOuter
    world.expect_revert(
        publish(rounds_id, 1, OUTER_HASH, honest),
        aggregator,
        "RoundsMarketOuterNotPublishable",
        rounds_id,
        1,
    )
    world.expect_revert(
        publish(rounds_id, 0, OUTER_HASH, honest[:1]),
        aggregator,
        "RoundsMarketOuterWrongLength",
        1,
        2,
    )
    logs = world.logs(world.send(publish(rounds_id, 0, OUTER_HASH, honest), aggregator))
    assert (
        "OuterPublished",
        {
            "roundsId": rounds_id,
            "round": 0,
            "publisher": aggregator,
            "outerHash": OUTER_HASH,
            "state0Hashes": honest,
            "bond": bond,
        },
    ) in logs
    assert world.stake_info(aggregator)[:2] == (bond, bond)
    claim = Web3.keccak(world.w3.codec.encode(["bytes32", "bytes32[]"], [OUTER_HASH, honest]))
    published_at = world.now()
    assert world.rounds.functions.outerPublication(rounds_id, 0).call() == [
        aggregator,
        published_at,
        claim,
    ]
    release_at = published_at + ROUND_TIMEOUT
    # the first publication counts: a second is refused while it stands
    world.stake(world.accounts[5], bond)
    world.expect_revert(
        publish(rounds_id, 0, OUTER_HASH, honest),
        world.accounts[5],
        "RoundsMarketOuterNotPublishable",
        rounds_id,
        0,
    )
    world.expect_revert(
        world.rounds.functions.releaseOuterBond(rounds_id, 0),
        aggregator,
        "RoundsMarketOuterBondLocked",
        rounds_id,
        0,
        release_at,
    )

    # round 1's units start where the publication says: no disproof
    second = units(world, rounds_id, 1)
    for w, job_id in enumerate(second):
        solve(world, job_id, solver, f"r1s{w}")
    finalize(world, *second)
    commitment, h0, proof = checkpoint0_proof(world, second[1], "r1s1")
    world.expect_revert(
        world.rounds.functions.disproveOuter(
            rounds_id, 0, OUTER_HASH, honest, 1, commitment, h0, proof
        ),
        world.accounts[6],
        "RoundsMarketOuterNotDisproved",
        rounds_id,
        0,
        4,
    )
    close(world, rounds_id)
    # round 1 closed early: the bond still waits a round timeout after the publication
    world.expect_revert(
        world.rounds.functions.releaseOuterBond(rounds_id, 0),
        aggregator,
        "RoundsMarketOuterBondLocked",
        rounds_id,
        0,
        release_at,
    )
    world.mine_at(release_at)
    balance = world.balance(aggregator)
    logs = world.logs(
        world.send(world.rounds.functions.releaseOuterBond(rounds_id, 0), world.accounts[6])
    )
    assert (
        "OuterReleased",
        {"roundsId": rounds_id, "round": 0, "publisher": aggregator, "bond": bond},
    ) in logs
    assert world.stake_info(aggregator)[:2] == (bond, 0)  # nothing lost, nothing locked
    assert world.balance(aggregator) == balance


def test_a_lying_aggregator_is_disproved_slashed_and_anyone_republishes(world: World) -> None:
    submitter, solver, liar, prover = (world.accounts[k] for k in (1, 2, 4, 6))
    rounds_id = round_zero_closed(world, submitter, solver)
    bond = int(world.rounds.functions.outerBond().call())
    world.stake(liar, bond + 7)
    lie = [state0_hash("r1s0"), Web3.keccak(text="a state 0 nobody trains from")]
    world.send(world.rounds.functions.publishOuter(rounds_id, 0, OUTER_HASH, lie), liar)

    second = units(world, rounds_id, 1)
    solve(world, second[1], solver, "r1s1")
    commitment, h0, proof = checkpoint0_proof(world, second[1], "r1s1")
    disprove = world.rounds.functions.disproveOuter
    # not Finalized yet, a wrong claim, a wrong commitment or proof: refused
    world.expect_revert(
        disprove(rounds_id, 0, OUTER_HASH, lie, 1, commitment, h0, proof),
        prover,
        "RoundsMarketOuterNotDisproved",
        rounds_id,
        0,
        1,
    )
    finalize(world, second[1])
    world.expect_revert(
        disprove(rounds_id, 0, OUTER_HASH, lie[::-1], 1, commitment, h0, proof),
        prover,
        "RoundsMarketOuterClaimMismatch",
        rounds_id,
        0,
    )
    world.expect_revert(
        disprove(rounds_id, 0, OUTER_HASH, lie, 1, commitment[::-1], h0, proof),
        prover,
        "RoundsMarketOuterNotDisproved",
        rounds_id,
        0,
        2,
    )
    world.expect_revert(
        disprove(rounds_id, 0, OUTER_HASH, lie, 1, commitment, lie[1], proof),
        prover,
        "RoundsMarketOuterNotDisproved",
        rounds_id,
        0,
        3,
    )

    before = {a: world.balance(a) for a in (liar, prover, DEAD, world.registry.address)}
    total = int(world.registry.functions.totalStaked().call())
    logs = world.logs(
        world.send(disprove(rounds_id, 0, OUTER_HASH, lie, 1, commitment, h0, proof), prover)
    )
    assert (
        "OuterDisproved",
        {
            "roundsId": rounds_id,
            "round": 0,
            "publisher": liar,
            "prover": prover,
            "slot": 1,
            "reward": bond // 2,
        },
    ) in logs
    assert world.balance(prover) == before[prover] + bond // 2
    assert world.balance(DEAD) == before[DEAD] + bond - bond // 2
    assert world.balance(liar) == before[liar]
    assert world.balance(world.registry.address) == before[world.registry.address] - bond
    assert int(world.registry.functions.totalStaked().call()) == total - bond
    assert world.stake_info(liar)[:2] == (7, 0)
    assert world.balance(world.rounds.address) == 0
    assert world.rounds.functions.outerPublication(rounds_id, 0).call()[0] == "0x" + "0" * 40

    # cleared: an honest aggregator publishes again
    honest = [state0_hash("r1s0"), state0_hash("r1s1")]
    world.stake(world.accounts[5], bond)
    world.send(
        world.rounds.functions.publishOuter(rounds_id, 0, OUTER_HASH, honest), world.accounts[5]
    )
    assert world.stake_info(world.accounts[5])[:2] == (bond, bond)


def test_publishing_needs_free_stake(world: World) -> None:
    submitter, solver = world.accounts[1], world.accounts[2]
    rounds_id = round_zero_closed(world, submitter, solver, rounds=2)
    bond = int(world.rounds.functions.outerBond().call())
    world.stake(world.accounts[4], bond - 1)
    world.expect_revert(
        world.rounds.functions.publishOuter(rounds_id, 0, OUTER_HASH, [OUTER_HASH, OUTER_HASH]),
        world.accounts[4],
        "StakeRegistryInsufficientFreeStake",
        world.accounts[4],
        bond - 1,
        bond,
    )
