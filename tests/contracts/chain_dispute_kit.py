"""Helpers of the dispute-game tests: a full trace (checkpoint, step and segment trees) and the moves."""

from __future__ import annotations

from typing import Any

from eth_abi import encode as abi_encode
from full_trace import FullTrace
from protocol_kit import JURY_COMMIT_PHASE, JURY_REVEAL_PHASE, SEED_DELAY
from protocol_world import World
from web3 import Web3

VERIFIERS = (4, 5, 6, 7, 8)
# IDisputeGame.Dispute field indexes and Phase values
PHASE, OUTCOME, LO, HI, HASH_LO, HASH_HI = 5, 6, 13, 14, 19, 20
OPENING, PROPOSE, CHOOSE, CONFIRM, JURY, RESOLVED = (
    1,
    2,
    3,
    4,
    5,
    6,
)  # account indexes registered as verifiers by `register_verifiers`


def register_verifiers(
    world: World, amount: int, indexes: tuple[int, ...] = VERIFIERS
) -> list[str]:
    accounts = [world.accounts[i] for i in indexes]
    for account in accounts:
        world.stake(account, amount)
        world.send(world.registry.functions.registerVerifier(), account)
    return accounts


ATTESTATION_SALT = b"\x09" * 32


def attestation_digest(
    job_id: int, attempt: int, segments: list[int], roots: list[bytes], who: str
) -> bytes:
    """The digest an attester commits for its segments' roots (salted with ATTESTATION_SALT)."""
    hashes = [
        Web3.keccak(
            abi_encode(
                ["uint256", "uint256", "uint256", "bytes32", "address", "bytes32"],
                [job_id, attempt, i, r, who, ATTESTATION_SALT],
            )
        )
        for i, r in zip(segments, roots, strict=True)
    ]
    return Web3.keccak(abi_encode(["bytes32[]"], [hashes]))


def draw_attesters(world: World, job_id: int) -> list[str]:
    """Record the attester seed of a committed job; the attesters drawn, in draw order."""
    world.mine(SEED_DELAY)
    receipt = world.send(world.attestations.functions.recordSeed(job_id), world.owner)
    ((name, args),) = world.logs(receipt)
    assert name == "AttestersDrawn"
    return [str(a) for a in args["attesters"]]


def commit_full(
    world: World, submitter: str, solver: str, trace_kw: dict[str, Any], **post: Any
) -> tuple[int, FullTrace]:
    job_id, _ = world.post(submitter, **post)
    world.stake(solver, int(world.market.functions.solverLockOf(job_id).call()))
    world.send(world.market.functions.claimJob(job_id), solver)
    job = world.job(job_id)
    trace = FullTrace.make(job_id, job.attempt, job.num_segments, job.checkpoint_every, **trace_kw)
    world.send(world.market.functions.commitTrace(*trace.commit_args()), solver)
    return job_id, trace


def challenge(
    world: World, challenger: str, job_id: int, segment: int, salt: bytes = b"\x07" * 32
) -> tuple[int, dict[str, int]]:
    """Commit and reveal a challenge; return the dispute id and the gas of both moves."""
    assert world.game is not None
    attempt = world.job(job_id).attempt
    digest = Web3.keccak(
        abi_encode(
            ["uint256", "uint256", "uint256", "address", "bytes32"],
            [job_id, attempt, segment, challenger, salt],
        )
    )
    gas = {
        "commitChallenge": world.send(world.game.functions.commitChallenge(digest), challenger)[
            "gasUsed"
        ]
    }
    receipt = world.send(world.game.functions.revealChallenge(job_id, segment, salt), challenger)
    gas["revealChallenge"] = receipt["gasUsed"]
    return int(world.game.functions.disputeCount().call()), gas


def bisect(
    world: World,
    dispute_id: int,
    solver: str,
    challenger: str,
    trace: FullTrace,
    truth: FullTrace,
    i: int,
) -> dict[str, int]:
    """Play the bisection: the solver proposes from ``trace``, the challenger picks the first
    sub-range where ``trace`` and ``truth`` disagree, the solver confirms the pinned step.
    Returns the gas per move (the largest of each kind)."""
    assert world.game is not None
    game = world.game.functions
    gas: dict[str, int] = {}
    base = (i - 1) * trace.k

    def record(name: str, used: int) -> None:
        gas[name] = max(gas.get(name, 0), used)

    while game.getDispute(dispute_id).call()[PHASE] == PROPOSE:
        points = [int(p) for p in game.splitPoints(dispute_id).call()]
        hashes = [trace.hashes[base + p] for p in points]
        record("proposeSplit", world.send(game.proposeSplit(dispute_id, hashes), solver)["gasUsed"])
        k = next(
            (x for x, p in enumerate(points) if trace.hashes[base + p] != truth.hashes[base + p]),
            len(points),
        )
        record(
            "chooseRange",
            world.send(game.chooseRange(dispute_id, k, hashes), challenger)["gasUsed"],
        )
    lo = int(game.getDispute(dispute_id).call()[LO])
    tree = trace.step_trees[i]
    record(
        "confirmStep",
        world.send(game.confirmStep(dispute_id, tree.proof(lo), tree.proof(lo + 1)), solver)[
            "gasUsed"
        ],
    )
    return gas


def vote_commitment(dispute_id: int, round_: int, voter: str, digest: bytes, salt: bytes) -> bytes:
    return Web3.keccak(
        abi_encode(
            ["uint256", "uint256", "address", "bytes32", "bytes32"],
            [dispute_id, round_, voter, digest, salt],
        )
    )


def run_jury(
    world: World, dispute_id: int, digests: dict[str, bytes | None]
) -> tuple[list[str], dict[str, int]]:
    """Draw the panel, then every voter in ``digests`` (None: does not vote) commits and reveals;
    resolve. ``digests`` may name jurors by the placeholder 'juror0'.. in draw order."""
    jury = world.jury.functions
    gas: dict[str, int] = {}
    world.mine(SEED_DELAY)
    receipt = world.send(jury.recordSeed(dispute_id), world.owner)
    gas["drawJury"] = receipt["gasUsed"]
    panel = jury.panelOf(dispute_id).call()
    round_ = panel[1]
    jurors = [str(a) for a in jury.jurorsOf(dispute_id, round_).call()]
    if panel[0] == 4:  # Done: nobody eligible
        return jurors, gas
    world.mine(SEED_DELAY)
    gas["recordSalt"] = world.send(jury.recordSeed(dispute_id), world.owner)["gasUsed"]
    named = {f"juror{x}": j for x, j in enumerate(jurors)}
    votes = {named.get(name, name): d for name, d in digests.items() if d is not None}
    salt = b"\x05" * 32
    for voter, digest in votes.items():
        used = world.send(
            jury.commitVote(dispute_id, vote_commitment(dispute_id, round_, voter, digest, salt)),
            voter,
        )["gasUsed"]
        gas["commitVote"] = gas.get("commitVote", 0) + used
    world.advance(JURY_COMMIT_PHASE + 1)
    for voter, digest in votes.items():
        used = world.send(jury.revealVote(dispute_id, digest, salt), voter)["gasUsed"]
        gas["revealVote"] = gas.get("revealVote", 0) + used
    world.advance(JURY_REVEAL_PHASE + 1)
    gas["resolve"] = world.send(jury.resolve(dispute_id), world.owner)["gasUsed"]
    return jurors, gas
