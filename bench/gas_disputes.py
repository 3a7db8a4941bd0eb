"""Gas of the attestation and dispute moves (issue 4), measured through the real adapters.

Two jobs of N = 2 segments with K = 64 steps (stateHashes are synthetic: gas does not depend on
what they hash): one honestly attested by the three drawn attesters (seed, commit, reveal,
finalize), one whose segment 2 is wrong from step 74 on and is challenged by a verifier. The
dispute runs to resolution with degree 16 (open, propose 15, choose, propose 3, choose, confirm)
and a jury of M = 3 (draw, salt, five commit + reveal votes, resolve). ``dispute_total`` sums
every transaction from the challenge commit to the resolution; ``max_bisection_move`` is the
largest single opening/bisection move.
"""

from __future__ import annotations

import hashlib
from typing import Any

from node.chain.client import increase_time, mine
from node.chain.devnet import dev_account
from node.chain.protocol import Protocol
from node.chain.tx import SentTx
from node.chain.types import Commitment
from node.chain.units import CROWD
from node.trace.commitment import build_commitment, seg_root, segment_tree
from node.trace.merkle import MerkleTree, checkpoint_leaf, segment_leaf
from node.votes import vote_commitment
from verifier.bisection import index_of_subrange, pick_subrange, split_points
from verifier.commitments import attestation_digest, challenge_hash

K, N, WRONG_FROM = 64, 2, 64 + 10
REWARD = 100 * CROWD
BISECTION = ("openSegment", "proposeSplit", "chooseRange", "confirmStep")


def _hashes(tag: str) -> list[bytes]:
    return [hashlib.sha256(f"{tag}-{t}".encode()).digest() for t in range(N * K + 1)]


class _Trace:
    """A synthetic committed trace: stateHashes at every step, the trees and their proofs."""

    def __init__(self, job_id: int, attempt: int, hashes: list[bytes]) -> None:
        self.job_id, self.attempt, self.hashes = job_id, attempt, hashes
        self.steps = [hashes[(i - 1) * K : i * K + 1] for i in range(1, N + 1)]
        self.seg_roots = [seg_root(job_id, attempt, i + 1, s) for i, s in enumerate(self.steps)]
        self.built = build_commitment(job_id, attempt, hashes[::K], self.seg_roots)
        self.commitment = Commitment(
            self.built.state_root,
            self.built.seg_roots_root,
            self.built.final_state_hash,
            hashlib.sha256(f"manifest-{job_id}".encode()).digest(),
        )

    def seg_proof(self, segment: int) -> list[bytes]:
        leaves = [
            segment_leaf(self.job_id, self.attempt, i + 1, r) for i, r in enumerate(self.seg_roots)
        ]
        return MerkleTree.build(leaves).proof(segment - 1)

    def step_tree(self, segment: int) -> MerkleTree:
        return segment_tree(self.job_id, self.attempt, segment, self.steps[segment - 1])

    def open_args(self, segment: int) -> dict[str, Any]:
        cps = MerkleTree.build(
            [
                checkpoint_leaf(self.job_id, self.attempt, i, h)
                for i, h in enumerate(self.hashes[::K])
            ]
        )
        steps = self.step_tree(segment)
        return {
            "hash_start": self.hashes[(segment - 1) * K],
            "start_proof": cps.proof(segment - 1),
            "hash_end": self.hashes[segment * K],
            "end_proof": cps.proof(segment),
            "seg_root": self.seg_roots[segment - 1],
            "seg_proof": self.seg_proof(segment),
            "step0_proof": steps.proof(0),
            "step_k_proof": steps.proof(K),
        }


class DisputeBench:
    def __init__(self, owner: Protocol, submitter: Protocol, solver: Protocol) -> None:
        self.owner, self.submitter, self.solver = owner, submitter, solver
        self.w3 = owner.w3
        self.gas: dict[str, int] = {}
        self.verifiers = [owner.as_account(dev_account(i)) for i in range(3, 7)]
        for v in self.verifiers:
            owner.token.mint(v.address, 1_000 * CROWD)
            v.stake(500 * CROWD)
            v.registry.register_verifier()

    def _add(self, name: str, sent: SentTx) -> None:
        self.gas[name] = self.gas.get(name, 0) + sent.gas_used

    def _job(self, hashes: list[bytes]) -> tuple[int, _Trace]:
        posted = self.submitter.post_job(
            spec_hash=hashlib.sha256(
                f"dispute-bench-{self.owner.market.job_count()}".encode()
            ).digest(),
            steps=N * K,
            checkpoint_every=K,
            reward=REWARD,
            verifier_fee=9 * CROWD,
            solve_timeout=600,
            sample_rate_bps=5_000,
        )
        claimed = self.solver.market.claim_job(posted.job_id)
        trace = _Trace(posted.job_id, claimed.attempt, hashes)
        self.solver.market.commit_trace(
            posted.job_id, trace.commitment, list(trace.built.final_state_proof)
        )
        return posted.job_id, trace

    def attestations(self) -> None:
        job_id, trace = self._job(_hashes("honest"))
        mine(self.w3, 3)
        self._add("recordAttesterSeed", self.owner.attestations.record_seed(job_id))
        salt = b"\x07" * 32
        drawn = [v for v in self.verifiers if v.attestations.assigned_segments(job_id, v.address)]
        plans = []
        for v in drawn:
            segs = v.attestations.assigned_segments(job_id, v.address)
            roots = [trace.seg_roots[s - 1] for s in segs]
            digest = attestation_digest(job_id, trace.attempt, segs, roots, v.address, salt)
            committed = v.attestations.commit_attestation(job_id, digest)
            self.gas["commitAttestation"] = self._gas(committed.tx_hash)
            plans.append((v, segs, roots))
        increase_time(self.w3, self.owner.market.challenge_window() + 1)
        for v, segs, roots in plans:
            revealed = v.attestations.reveal_attestation(
                job_id, trace.commitment, roots, salt, [trace.seg_proof(s) for s in segs]
            )
            self.gas["revealAttestation"] = self._gas(revealed.tx_hash)
        increase_time(self.w3, self.owner.market.reveal_phase())
        self.gas["finalizeJob_attested"] = self._gas(
            self.solver.market.finalize_job(job_id).tx_hash
        )

    def _gas(self, tx_hash: Any) -> int:
        return int(self.w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])

    def dispute(self) -> dict[str, int]:
        """Challenge segment 2 of a wrong trace and play to resolution; gas per move name."""
        truth = _hashes("honest")
        wrong = truth[:WRONG_FROM] + [b"\xee" + h[1:] for h in truth[WRONG_FROM:]]
        job_id, trace = self._job(wrong)
        honest = truth[K : 2 * K + 1]
        challenger, solver = self.verifiers[0], self.solver
        game = self.owner.dispute_game
        gas: dict[str, int] = {}

        def add(name: str, sent: Any) -> None:
            gas[name] = gas.get(name, 0) + self._gas(sent.tx_hash)

        salt = b"\x09" * 32
        add(
            "commitChallenge",
            challenger.dispute_game.commit_challenge(
                challenge_hash(job_id, trace.attempt, 2, challenger.address, salt)
            ),
        )
        mine(self.w3, 1)  # the reveal must come in a later block than the commit
        opened = challenger.dispute_game.reveal_challenge(job_id, 2, salt)
        add("revealChallenge", opened)
        i = opened.dispute_id
        add(
            "openSegment",
            solver.dispute_game.open_segment(i, trace.commitment, **trace.open_args(2)),
        )
        degree = self.owner.deployment.params.bisection_degree
        claimed = trace.steps[1]
        while True:
            d = game.get_dispute(i)
            if d.hi - d.lo == 1:
                break
            points = split_points(d.lo, d.hi, degree)
            proposal = [claimed[p] for p in points]
            add("proposeSplit", solver.dispute_game.propose_split(i, proposal))
            opened_at = dict(zip(points, proposal, strict=True))
            k = index_of_subrange(
                d.lo, d.hi, degree, pick_subrange(d.lo, d.hi, degree, opened_at, honest)
            )
            add("chooseRange", challenger.dispute_game.choose_range(i, k, proposal))
        tree = trace.step_tree(2)
        add("confirmStep", solver.dispute_game.confirm_step(i, tree.proof(d.lo), tree.proof(d.hi)))
        self._jury(i, gas, challenger)
        return gas

    def _jury(self, i: int, gas: dict[str, int], challenger: Protocol) -> None:
        jury = self.owner.jury

        def add(name: str, sent: Any) -> None:
            gas[name] = gas.get(name, 0) + self._gas(sent.tx_hash)

        mine(self.w3, 3)
        add("drawJury", jury.record_seed(i))
        mine(self.w3, 3)
        add("recordSalt", jury.record_seed(i))
        panel = jury.panel_of(i)
        jurors = set(jury.jurors_of(i, panel.round))
        voters = [self.solver, challenger] + [v for v in self.verifiers if v.address in jurors]
        honest, lie, salt = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
        digests = {v.address: (lie if v is self.solver else honest) for v in voters}
        for v in voters:
            commitment = vote_commitment(i, panel.round, v.address, digests[v.address], salt)
            add("commitVote", v.jury.commit_vote(i, commitment))
        increase_time(self.w3, self.owner.deployment.params.jury_commit_phase + 1)
        for v in voters:
            add("revealVote", v.jury.reveal_vote(i, digests[v.address], salt))
        increase_time(self.w3, self.owner.deployment.params.jury_reveal_phase + 1)
        add("resolve", jury.resolve(i))


def run_dispute_gas(owner: Protocol, submitter: Protocol, solver: Protocol) -> dict[str, Any]:
    """Attestation moves and one full dispute; the two issue-4 JSON keys."""
    bench = DisputeBench(owner, submitter, solver)
    bench.attestations()
    moves = bench.dispute()
    return {
        "attestation_actions": bench.gas,
        "dispute_actions": moves,
        "dispute_total": sum(moves.values()),
        "max_bisection_move": max(moves[m] for m in BISECTION),
    }
