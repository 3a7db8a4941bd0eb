"""Attesters and the dispute game (docs/PROTOCOL.md §5, §7): an attester that revealed a valid root of a
segment later proven fraudulent loses `attesterSlash`; an attester that revealed an invalid root
for it, or did not reveal, does not; when the challenge fails, every valid reveal is paid at
finalize. Segment assignments come from the contract (`assignedSegments`), never from a rule here.
Exact balances of every party and the solvency invariant after every transaction."""

from __future__ import annotations

import pytest
from chain_dispute_kit import FullTrace, bisect, commit_full, register_verifiers
from dispute_paths_kit import (
    BOND,
    FEE,
    VERIFIER_STAKE,
    Changes,
    Ledger,
    challenger_lost,
    jurors_settled,
    jury_round,
    solver_lost,
)
from eth_abi import encode as abi_encode
from protocol_kit import ATTESTER_SLASH, ETHER, JUROR_SLASH, REVEAL_PHASE, SEED_DELAY, JobStatus
from protocol_world import World
from web3 import Web3

pytestmark = pytest.mark.chain

VERIFIER_FEE = 3 * ETHER
ATTEST_SALT = b"\x0a" * 32
BOGUS_ROOT = Web3.keccak(text="a root the attester never computed")
HONEST, LIE = Web3.keccak(text="honest digest"), Web3.keccak(text="solver digest")


def _attestation_digest(job_id: int, segments: list[int], roots: list[bytes], who: str) -> bytes:
    hashes = [
        Web3.keccak(
            abi_encode(
                ["uint256", "uint256", "uint256", "bytes32", "address", "bytes32"],
                [job_id, 0, i, r, who, ATTEST_SALT],
            )
        )
        for i, r in zip(segments, roots, strict=True)
    ]
    return Web3.keccak(abi_encode(["bytes32[]"], [hashes]))


def _attested_and_challenged(
    world: World,
) -> tuple[int, FullTrace, int, dict[str, list[int]], list[str], str, int, Ledger]:
    """Job (N = 8, K = 4) with three drawn attesters: the first reveals valid roots for all of its
    segments, the second reveals a bogus root for the disputed segment (if it has it), the third
    never reveals. A non-attester challenges the first attester's first segment in the reveal
    phase. Returns job, trace, segment, assignments, attesters, challenger, dispute, ledger."""
    assert world.game is not None
    verifiers = register_verifiers(world, VERIFIER_STAKE)
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace = commit_full(world, submitter, solver, {}, verifier_fee=VERIFIER_FEE)
    world.mine(SEED_DELAY)
    receipt = world.send(world.attestations.functions.recordSeed(job_id), world.owner)
    ((_, drawn_event),) = world.logs(receipt)
    attesters = [str(a) for a in drawn_event["attesters"]]
    assert len(attesters) == 3 and solver not in attesters
    att = world.attestations.functions
    assigned = {a: [int(i) for i in att.assignedSegments(job_id, a).call()] for a in attesters}
    assert all(assigned.values())
    segment = assigned[attesters[0]][0]
    challenger = next(v for v in verifiers if v not in attesters)
    ledger = Ledger.take(world)

    roots = {a: [trace.seg_root(i) for i in assigned[a]] for a in attesters}
    roots[attesters[1]] = [
        BOGUS_ROOT if i == segment else r
        for i, r in zip(assigned[attesters[1]], roots[attesters[1]], strict=True)
    ]
    for a in attesters[:2]:
        digest = _attestation_digest(job_id, assigned[a], roots[a], a)
        world.send(att.commitAttestation(job_id, digest), a)
    salt = b"\x07" * 32
    world.send(
        world.game.functions.commitChallenge(
            Web3.keccak(
                abi_encode(
                    ["uint256", "uint256", "uint256", "address", "bytes32"],
                    [job_id, 0, segment, challenger, salt],
                )
            )
        ),
        challenger,
    )
    world.mine_at(world.job(job_id).deadline + 1)  # the reveal phase
    for a in attesters[:2]:
        proofs = [trace.segments.proof(i - 1) for i in assigned[a]]
        world.send(
            att.revealAttestation(
                job_id, trace.commitment, roots[a], salt=ATTEST_SALT, proofs=proofs
            ),
            a,
        )
    world.send(world.game.functions.revealChallenge(job_id, segment, salt), challenger)
    dispute_id = int(world.game.functions.disputeCount().call())
    revealers = [str(a) for a in att.revealersOf(job_id, 0, segment).call()]
    assert revealers == [attesters[0]]
    return job_id, trace, segment, assigned, attesters, challenger, dispute_id, ledger


@pytest.mark.parametrize("unstakes", [False, True], ids=["staying", "unstaking"])
def test_attesters_of_a_proven_fraudulent_segment_are_slashed(
    game_world: World, unstakes: bool
) -> None:
    """`unstaking`: the guilty attester moves all its stake to unbonding once the challenge is
    revealed; unbonding stake stays slashable, so it still loses exactly `attesterSlash`."""
    world = game_world
    assert world.game is not None
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace, segment, _, attesters, challenger, dispute_id, ledger = _attested_and_challenged(
        world
    )
    if unstakes:
        free = world.registry.functions.freeStakeOf(attesters[0]).call()
        world.send(world.registry.functions.requestUnstake(free), attesters[0])
        assert world.stake_info(attesters[0])[:3] == (VERIFIER_STAKE - free, 0, free)
    # the honest run agrees with the commit up to step 1 of the segment and not after it
    truth = FullTrace.make(job_id, 0, 8, 4, wrong_from=(segment - 1) * 4 + 2)
    world.send(world.game.functions.openSegment(*trace.open_args(dispute_id, segment)), solver)
    bisect(world, dispute_id, solver, challenger, trace, truth, segment)
    digests: dict[str, bytes | None] = {solver: LIE, challenger: HONEST}
    digests |= {f"juror{k}": HONEST for k in range(3)}
    verdict = jury_round(world, dispute_id, digests)
    assert verdict.resolve is not None

    slashed = [args for name, args in world.logs(verdict.resolve) if name == "AttestersSlashed"]
    assert slashed == [
        {"disputeId": dispute_id, "attesters": [attesters[0]], "amounts": [ATTESTER_SLASH]}
    ]
    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors))], slash=JUROR_SLASH)
    solver_lost(expected, solver=solver, winner=challenger, submitter=submitter, fees=fees)
    expected.burned += ATTESTER_SLASH  # burned: nobody profits from it
    if unstakes:
        expected.staked[attesters[0]] -= free  # left for unbonding, less the slash taken from it
        assert world.stake_info(attesters[0])[2] == free - ATTESTER_SLASH
    else:
        expected.slash(attesters[0], ATTESTER_SLASH)
    ledger.assert_changes(expected)
    job = world.job(job_id)
    assert (job.status, job.attempt) == (JobStatus.OPEN, 1)
    assert job.verifier_fee == VERIFIER_FEE  # the fee waits in escrow for the next attempt


def test_a_failed_challenge_slashes_no_attester_and_valid_reveals_are_paid(
    game_world: World,
) -> None:
    world = game_world
    assert world.game is not None
    submitter, solver = world.accounts[1], world.accounts[2]
    job_id, trace, segment, assigned, attesters, challenger, dispute_id, ledger = (
        _attested_and_challenged(world)
    )
    liar = FullTrace.make(job_id, 0, 8, 4, wrong_from=(segment - 1) * 4 + 2)
    world.send(world.game.functions.openSegment(*trace.open_args(dispute_id, segment)), solver)
    bisect(world, dispute_id, solver, challenger, trace, liar, segment)
    digests: dict[str, bytes | None] = {solver: HONEST, challenger: LIE}
    digests |= {f"juror{k}": HONEST for k in range(3)}
    verdict = jury_round(world, dispute_id, digests)
    assert verdict.resolve is not None
    assert not [n for n, _ in world.logs(verdict.resolve) if n == "AttestersSlashed"]

    # the window was extended by the dispute; then the job finalizes and pays valid reveals
    world.mine_at(world.job(job_id).deadline + REVEAL_PHASE + 1)
    world.send(world.market.functions.finalizeJob(job_id), world.owner)
    _, _, total_assigned = world.attestations.functions.payoutsOf(job_id, 0).call()
    assert total_assigned == sum(len(s) for s in assigned.values())
    per_segment = VERIFIER_FEE // total_assigned
    valid = {
        attesters[0]: len(assigned[attesters[0]]),
        attesters[1]: len([i for i in assigned[attesters[1]] if i != segment]),
        attesters[2]: 0,
    }
    expected = Changes()
    fees = jurors_settled(expected, [(verdict.jurors, set(verdict.jurors))], slash=JUROR_SLASH)
    challenger_lost(expected, challenger=challenger, solver=solver, fees=fees, bond=BOND)
    for a, count in valid.items():
        expected.credit[a] += per_segment * count
    expected.credit[solver] += 10 * ETHER  # the reward
    expected.locked[solver] -= 100 * ETHER  # its lock released
    expected.credit[submitter] += VERIFIER_FEE - per_segment * sum(valid.values())
    ledger.assert_changes(expected)
    assert world.job(job_id).status == JobStatus.FINALIZED
    assert fees == 3 * FEE
