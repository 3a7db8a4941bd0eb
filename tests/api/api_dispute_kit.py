"""Drive an attestation round and one full dispute on-chain (the call sequence of
``tests/contracts/chain_dispute_kit.py``, through the node's adapters), for the API's dispute tests.

The scenario: an honest solver commits a real trace (checkpoint, segment and step trees); three
drawn attesters commit, two reveal; a verifier challenges a segment with a wrong view of it,
bisects to one step, and the jury (two jurors with the solver, one silent) decides the challenger
was wrong; the job then finalizes and pays the attesters.
"""

from __future__ import annotations

from dataclasses import dataclass

from api_kit import CROWD, Market
from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from full_trace import FullTrace
from web3 import Web3

from node.chain.client import increase_time, mine
from node.chain.dispute_types import DisputePhase
from node.chain.protocol import Protocol

SALT = b"\x09" * 32
SEED_DELAY = 2


@dataclass
class Played:
    """What the scenario did, for the assertions."""

    job_id: int
    dispute_id: int
    segment: int
    trace: FullTrace
    attesters: list[str]
    revealed: list[str]
    assigned: dict[str, list[int]]
    challenger: str
    jurors: list[str]
    silent_juror: str
    moves: list[str]
    challenge_hash: bytes


def keccak_abi(types: list[str], values: list[object]) -> bytes:
    return Web3.keccak(abi_encode(types, values))


def register_verifiers(market: Market, accounts: list[LocalAccount]) -> list[Protocol]:
    players = []
    for account in accounts:
        market.deployer.token.mint(account.address, 1_000 * CROWD)
        player = market.deployer.as_account(account)
        player.stake(200 * CROWD)
        player.registry.register_verifier()
        players.append(player)
    return players


def play(market: Market, verifiers: list[LocalAccount]) -> Played:
    w3 = market.w3
    players: dict[str, Protocol] = {p.address: p for p in register_verifiers(market, verifiers)}
    market.stake_solver()
    (job_id,) = market.post(1)
    claimed = market.solver.market.claim_job(job_id)
    job = market.solver.market.get_job(job_id)
    n, k = job.num_segments, job.checkpoint_every
    trace = FullTrace.make(job_id, claimed.attempt, n, k)
    market.solver.market.commit_trace(job_id, trace.typed_commitment, trace.checkpoints.proof(n))

    # --- attestation round: three drawn, all commit, two reveal ---
    mine(w3, SEED_DELAY + 1)
    market.deployer.attestations.record_seed(job_id)
    attesters = [a for a, *_ in market.deployer.attestations.attesters_of(job_id, claimed.attempt)]
    assigned = {a: market.deployer.attestations.assigned_segments(job_id, a) for a in attesters}
    for a in attesters:
        hashes = [
            keccak_abi(
                ["uint256", "uint256", "uint256", "bytes32", "address", "bytes32"],
                [job_id, claimed.attempt, i, trace.seg_root(i), a, SALT],
            )
            for i in assigned[a]
        ]
        players[a].attestations.commit_attestation(job_id, keccak_abi(["bytes32[]"], [hashes]))
    increase_time(w3, market.solver.market.challenge_window() + 1)
    revealed = attesters[:2]
    for a in revealed:
        players[a].attestations.reveal_attestation(
            job_id,
            trace.typed_commitment,
            [trace.seg_root(i) for i in assigned[a]],
            SALT,
            [trace.segments.proof(i - 1) for i in assigned[a]],
        )

    # --- a wrong challenge of segment 2, bisected to one step, lost at the jury ---
    segment = 2
    challenger = (
        next(a for a in players if a not in attesters) if len(players) > 3 else attesters[2]
    )
    game = players[challenger].dispute_game
    challenge_hash = keccak_abi(
        ["uint256", "uint256", "uint256", "address", "bytes32"],
        [job_id, claimed.attempt, segment, challenger, SALT],
    )
    game.commit_challenge(challenge_hash)
    mine(w3, 1)  # the reveal must come in a later block than the commit
    dispute_id = int(game.reveal_challenge(job_id, segment, SALT).dispute_id)
    solver_game = market.solver.dispute_game
    i = segment
    solver_game.open_segment(
        dispute_id,
        trace.typed_commitment,
        hash_start=trace.hashes[(i - 1) * k],
        start_proof=trace.checkpoints.proof(i - 1),
        hash_end=trace.hashes[i * k],
        end_proof=trace.checkpoints.proof(i),
        seg_root=trace.seg_root(i),
        seg_proof=trace.segments.proof(i - 1),
        step0_proof=trace.step_trees[i].proof(0),
        step_k_proof=trace.step_trees[i].proof(k),
    )
    moves = ["ChallengeCommitted", "DisputeOpened", "SegmentOpened"]
    view = FullTrace.make(job_id, claimed.attempt, n, k, wrong_from=(i - 1) * k + 1)
    base = (i - 1) * k
    while solver_game.get_dispute(dispute_id).phase == DisputePhase.PROPOSE:
        points = solver_game.split_points(dispute_id)
        hashes = [trace.hashes[base + p] for p in points]
        solver_game.propose_split(dispute_id, hashes)
        pick = next(
            (x for x, p in enumerate(points) if view.hashes[base + p] != trace.hashes[base + p]),
            len(points),
        )
        game.choose_range(dispute_id, pick, hashes)
        moves += ["SplitProposed", "RangeChosen"]
    lo = solver_game.get_dispute(dispute_id).lo
    solver_game.confirm_step(
        dispute_id, trace.step_trees[i].proof(lo), trace.step_trees[i].proof(lo + 1)
    )
    moves.append("StepPinned")

    # --- the jury: the solver and two jurors reveal the solver's digest, one juror is silent ---
    mine(w3, SEED_DELAY + 1)
    market.deployer.jury.record_seed(dispute_id)
    jurors = market.deployer.jury.jurors_of(dispute_id, 0)
    mine(w3, SEED_DELAY + 1)
    market.deployer.jury.record_seed(dispute_id)
    honest, wrong = Web3.keccak(text="digest-ok"), Web3.keccak(text="digest-bad")
    votes = {market.solver.address: honest, challenger: wrong, jurors[0]: honest, jurors[1]: honest}
    voters: dict[str, Protocol] = {market.solver.address: market.solver, **players}
    for voter, digest in votes.items():
        commitment = keccak_abi(
            ["uint256", "uint256", "address", "bytes32", "bytes32"],
            [dispute_id, 0, voter, digest, SALT],
        )
        voters[voter].jury.commit_vote(dispute_id, commitment)
    increase_time(w3, 61)
    for voter, digest in votes.items():
        voters[voter].jury.reveal_vote(dispute_id, digest, SALT)
    increase_time(w3, 61)
    market.deployer.jury.resolve(dispute_id)

    # --- the job finalizes and pays the attesters ---
    increase_time(w3, 86_400)
    market.solver.market.finalize_job(job_id)
    return Played(
        job_id=job_id,
        dispute_id=dispute_id,
        segment=segment,
        trace=trace,
        attesters=attesters,
        revealed=revealed,
        assigned=assigned,
        challenger=challenger,
        jurors=jurors,
        silent_juror=jurors[2],
        moves=moves,
        challenge_hash=challenge_hash,
    )
