"""Issue 11 §1, the dispute game's holes: each test reproduced its hole on the contracts before the
fix (see docs/DISPUTES.md for the rules they pin). Exact balances after every slash and payout;
the solvency invariant is checked after every transaction by the world."""

from __future__ import annotations

import pytest
from chain_dispute_kit import (
    OPENING,
    OUTCOME,
    PHASE,
    FullTrace,
    bisect,
    challenge,
    commit_full,
    register_verifiers,
)
from dispute_paths_kit import (
    BOND,
    CHALLENGE_FEE,
    VERIFIER_STAKE,
    Changes,
    Ledger,
    jurors_settled,
    jury_round,
)
from eth_abi import encode as abi_encode
from protocol_kit import (
    JUROR_SLASH,
    MAX_WINDOW_EXTENSION,
    MOVE_CLOCK,
    REVEAL_PHASE,
    SEED_DELAY,
    JobStatus,
)
from protocol_world import World, committed_job
from web3 import Web3

pytestmark = pytest.mark.chain

SALT = b"\x07" * 32
HONEST, LIE = Web3.keccak(text="honest digest"), Web3.keccak(text="solver digest")
VOID = 3


def _challenge_hash(job_id: int, attempt: int, segment: int, challenger: str, salt: bytes) -> bytes:
    return Web3.keccak(
        abi_encode(
            ["uint256", "uint256", "uint256", "address", "bytes32"],
            [job_id, attempt, segment, challenger, salt],
        )
    )


def test_a_copied_commit_hash_does_not_block_the_honest_challenge(game_world: World) -> None:
    """The solver copies a pending challenge commit: before the fix the honest commit reverted
    (DisputeGameBadCommit), so a solver could block every challenge against itself."""
    world = game_world
    assert world.game is not None
    game = world.game.functions
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, _ = commit_full(world, submitter, solver, {})
    honest = verifiers[0]
    digest = _challenge_hash(job_id, 0, 1, honest, SALT)
    world.send(game.commitChallenge(digest), solver)  # front-run with the same hash
    world.send(game.commitChallenge(digest), honest)
    world.send(game.revealChallenge(job_id, 1, SALT), honest)
    dispute_id = int(game.disputeCount().call())
    assert game.getDispute(dispute_id).call()[9] == honest
    # the copy is worthless to the copier: its reveal hashes to a commitment it never made
    world.expect_revert(
        game.revealChallenge(job_id, 1, SALT),
        solver,
        "DisputeGameBadCommit",
        _challenge_hash(job_id, 0, 1, solver, SALT),
    )


def test_b_a_sybil_with_the_earliest_commit_only_shares_the_jackpot(game_world: World) -> None:
    """The cheater's sybil committed first (blanket commit at the commit block) and reveals on the
    caught segment; before the fix it took the whole jackpot ("earliest commit"). Now every open
    challenge of the convicted segment gets an equal share and each paid its challenge fee."""
    world = game_world
    assert world.game is not None
    game = world.game.functions
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver, sybil = world.accounts[1], world.accounts[2], world.accounts[3]
    job_id, trace = commit_full(
        world, submitter, solver, {"wrong_from": 64 + 10}, steps=128, checkpoint_every=64
    )
    truth = FullTrace.make(job_id, 0, 2, 64)
    world.stake(sybil, BOND + CHALLENGE_FEE)
    honest = verifiers[0]
    ledger = Ledger.take(world)
    for segment in (1, 2):  # the blanket commit: every segment, before anyone else
        world.send(game.commitChallenge(_challenge_hash(job_id, 0, segment, sybil, SALT)), sybil)
    honest_id, _ = challenge(world, honest, job_id, 2)
    world.send(game.revealChallenge(job_id, 2, SALT), sybil)  # it was caught: it joins in
    sybil_id = int(game.disputeCount().call())
    world.send(game.openSegment(*trace.open_args(honest_id, 2)), solver)
    bisect(world, honest_id, solver, honest, trace, truth, 2)
    digests: dict[str, bytes | None] = {solver: LIE, honest: HONEST}
    digests |= {f"juror{k}": HONEST for k in range(3)}
    verdict = jury_round(world, honest_id, digests)
    assert verdict.resolve is not None

    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors))], slash=JUROR_SLASH)
    lock = int(world.market.functions.solverLockOf(job_id).call())
    rest = lock - fees
    jackpot, to_submitter = rest // 2, rest // 4
    share = jackpot // 2
    expected.slash(solver, lock)
    expected.locked[solver] -= lock
    expected.credit[sybil] += share
    expected.credit[honest] += jackpot - share  # the dust goes to the convicting challenger
    expected.credit[submitter] += to_submitter
    expected.burned += rest - jackpot - to_submitter
    for challenger in (sybil, honest):
        expected.slash(challenger, CHALLENGE_FEE)
        expected.burned += CHALLENGE_FEE
    ledger.assert_changes(expected)
    assert game.getDispute(sybil_id).call()[PHASE] != OPENING
    assert game.getDispute(sybil_id).call()[OUTCOME] == VOID
    assert world.job(job_id).status == JobStatus.OPEN


def _lose_two_overlapping_challenges(world: World) -> tuple[int, int, int]:
    """Two challenges on one job, opened 10 s apart; each challenger lets its clock run out in
    Choose. Returns (job, first opening time, last resolution time)."""
    assert world.game is not None
    game = world.game.functions
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace = commit_full(world, submitter, solver, {}, steps=128, checkpoint_every=64)
    first, _ = challenge(world, verifiers[0], job_id, 1)
    world.advance(10)
    second, _ = challenge(world, verifiers[1], job_id, 2)
    for dispute_id, segment in ((first, 1), (second, 2)):
        world.send(game.openSegment(*trace.open_args(dispute_id, segment)), solver)
        points = [int(p) for p in game.splitPoints(dispute_id).call()]
        hashes = [trace.hashes[(segment - 1) * 64 + p] for p in points]
        world.send(game.proposeSplit(dispute_id, hashes), solver)
    world.advance(MOVE_CLOCK + 1)
    world.send(game.timeout(first), world.owner)
    world.advance(5)
    receipt = world.send(game.timeout(second), world.owner)
    opened = int(game.getDispute(first).call()[17])
    resolved = int(world.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    return job_id, opened, resolved


def test_d_window_extension_is_the_union_of_frozen_time(game_world: World) -> None:
    """Before the fix each lost dispute extended the window by its own duration, so overlapping
    disputes added up (frozen 121 s twice gave 242 s)."""
    world = game_world
    deadline_before = None
    job_id, opened, resolved = _lose_two_overlapping_challenges(world)
    job = world.job(job_id)
    assert job.open_disputes == 0
    commit_time = int(world.w3.eth.get_block(job.commit_block)["timestamp"])
    deadline_before = commit_time + 120
    assert job.deadline == deadline_before + (resolved - opened)


def test_d_the_256th_open_dispute_freezes_like_the_first(world: World) -> None:
    """`openDisputes` was a uint8: the 256th freeze panicked, so 255 cheap disputes blocked every
    further challenge of the job."""
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, _ = committed_job(world, submitter, solver)
    for _ in range(256):
        world.send(world.market.functions.freezeJob(job_id), world.dispute_game)
    assert world.job(job_id).open_disputes == 256


def test_d_window_extensions_stop_at_the_cap(world: World) -> None:
    """The unbonding period must outlast every extension: extensions of one attempt add up to at
    most `maxWindowExtension`, which the deployment's slash horizon counts."""
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, _ = committed_job(world, submitter, solver)
    deadline = world.job(job_id).deadline
    market = world.market.functions
    world.send(market.freezeJob(job_id), world.dispute_game)
    world.advance(MAX_WINDOW_EXTENSION + 500)
    world.send(market.unfreezeJob(job_id), world.dispute_game)
    assert world.job(job_id).deadline == deadline + MAX_WINDOW_EXTENSION
    world.send(market.freezeJob(job_id), world.dispute_game)
    world.advance(100)
    world.send(market.unfreezeJob(job_id), world.dispute_game)
    assert world.job(job_id).deadline == deadline + MAX_WINDOW_EXTENSION


def test_d_commit_blocks_are_wider_than_uint32(game_world: World) -> None:
    """A uint32 block number wraps after 2^32 blocks (~34 years at 4 blocks a second)."""
    job_abi = next(
        o
        for item in game_world.market.abi
        if item.get("name") == "getJob"
        for o in item["outputs"][0]["components"]
        if o["name"] == "commitBlock"
    )
    assert int(job_abi["type"].removeprefix("uint")) >= 40


def test_d_a_late_attestation_copying_an_opened_root_neither_counts_nor_pays(
    game_world: World,
) -> None:
    """An attester commits only after `openSegment` put the segment's root on chain (it copies it);
    that segment neither counts for its fee nor makes it slashable. Its other segments do."""
    world = game_world
    assert world.game is not None
    game, att = world.game.functions, world.attestations.functions
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    fee = 3 * 10**18
    job_id, trace = commit_full(world, submitter, solver, {}, verifier_fee=fee)
    world.mine(SEED_DELAY)
    receipt = world.send(att.recordSeed(job_id), world.owner)
    ((_, drawn_event),) = world.logs(receipt)
    attesters = [str(a) for a in drawn_event["attesters"]]
    late = attesters[0]
    assigned = [int(i) for i in att.assignedSegments(job_id, late).call()]
    segment = assigned[0]
    challenger = next(v for v in verifiers if v not in attesters)
    dispute_id, _ = challenge(world, challenger, job_id, segment)
    world.send(game.openSegment(*trace.open_args(dispute_id, segment)), solver)
    roots = [trace.seg_root(i) for i in assigned]
    attest_salt = b"\x0a" * 32
    hashes = [
        Web3.keccak(
            abi_encode(
                ["uint256", "uint256", "uint256", "bytes32", "address", "bytes32"],
                [job_id, 0, i, r, late, attest_salt],
            )
        )
        for i, r in zip(assigned, roots, strict=True)
    ]
    world.send(
        att.commitAttestation(job_id, Web3.keccak(abi_encode(["bytes32[]"], [hashes]))), late
    )
    # the challenger gives up: it lets its clock run out after the solver's proposal
    points = [int(p) for p in game.splitPoints(dispute_id).call()]
    base = (segment - 1) * trace.k
    world.send(game.proposeSplit(dispute_id, [trace.hashes[base + p] for p in points]), solver)
    world.advance(MOVE_CLOCK + 1)
    world.send(game.timeout(dispute_id), world.owner)
    world.mine_at(world.job(job_id).deadline + 1)
    proofs = [trace.segments.proof(i - 1) for i in assigned]
    world.send(att.revealAttestation(job_id, trace.commitment, roots, attest_salt, proofs), late)
    (_, valid_segments, sampled) = att.payoutsOf(job_id, 0).call()
    assert valid_segments[0] == len(assigned) - 1
    assert late not in att.revealersOf(job_id, 0, segment).call()
    world.mine_at(world.job(job_id).deadline + REVEAL_PHASE + 1)
    before = world.credit(late)
    world.send(world.market.functions.finalizeJob(job_id), world.owner)
    assert world.credit(late) - before == (fee // sampled) * (len(assigned) - 1)
