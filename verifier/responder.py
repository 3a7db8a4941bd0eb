"""The responder: the only part of the verifier that sends transactions.

Each commit-reveal move takes its salt from the journal (created and persisted *before* the
transaction is sent), so a restart between send and receipt reveals with the salt it committed
to. A move the chain rejects (someone else recorded the seed first, a deadline passed meanwhile)
is logged and dropped: the next tick decides again from the chain's view.
"""

from __future__ import annotations

import logging

from node.chain.dispute_types import Target
from node.chain.protocol import Protocol
from node.errors import TransactionRevertedError
from node.trace.merkle import MerkleTree
from node.votes import vote_commitment
from verifier import actions as va
from verifier import dispute_decide as dd
from verifier.commitments import attestation_digest, challenge_hash
from verifier.journal import VerifierJournal
from verifier.player import Players, challenge_key, digest_key

log = logging.getLogger("crowdtrain.verifier")


class Responder:
    def __init__(self, protocol: Protocol, journal: VerifierJournal, players: Players) -> None:
        self.p = protocol
        self.journal = journal
        self.players = players
        self.me = protocol.address
        self.sent: list[str] = []
        """names of the moves sent by this process (tests and the CLI summary read it)."""

    def execute(self, action: va.Action | dd.DisputeAction) -> None:
        name = type(action).__name__
        try:
            self._send(action)
        except TransactionRevertedError as err:
            log.warning("%s rejected: %s", name, err)
            return
        self.sent.append(name)
        fields = {k: v for k, v in vars(action).items() if not isinstance(v, bytes | tuple)}
        log.info("sent %s %s", name, fields)

    def _send(self, a: va.Action | dd.DisputeAction) -> None:
        p, j = self.p, self.journal
        if isinstance(a, va.RecordSeed):
            p.attestations.record_seed(a.job_id)
        elif isinstance(a, va.CommitAttestation):
            key = f"attest:{a.job_id}:{a.attempt}"
            roots = self._roots(a.job_id, a.attempt, a.segments)
            salt = j.plan(key, {"segments": list(a.segments)})
            digest = attestation_digest(a.job_id, a.attempt, a.segments, roots, self.me, salt)
            p.attestations.commit_attestation(a.job_id, digest)
            j.mark_sent(key)
        elif isinstance(a, va.RevealAttestation):
            self._reveal_attestation(a)
        elif isinstance(a, va.CommitChallenge):
            salt = j.plan(challenge_key(a.job_id, a.attempt, a.segment))
            p.dispute_game.commit_challenge(
                challenge_hash(a.job_id, a.attempt, a.segment, self.me, salt)
            )
        elif isinstance(a, va.RevealChallenge):
            salt = j.plan(challenge_key(a.job_id, a.attempt, a.segment))
            opened = p.dispute_game.reveal_challenge(a.job_id, a.segment, salt)
            log.info(
                "challenged job %d segment %d: dispute %d", a.job_id, a.segment, opened.dispute_id
            )
        elif isinstance(a, va.OpenAvailabilityClaim):
            if a.checkpoint is None:
                p.dispute_game.open_availability_claim(a.job_id, Target.MANIFEST, 0)
            else:
                p.dispute_game.open_availability_claim(a.job_id, Target.CHECKPOINT, a.checkpoint)
        elif isinstance(a, va.Withdraw):
            p.market.withdraw()
        else:
            self._send_dispute(a)

    def _send_dispute(self, a: va.Action | dd.DisputeAction) -> None:
        p, j = self.p, self.journal
        if isinstance(a, dd.ChooseRange):
            p.dispute_game.choose_range(a.dispute_id, a.k, a.hashes)
        elif isinstance(a, dd.Timeout):
            p.dispute_game.timeout(a.dispute_id)
        elif isinstance(a, dd.RecordDisputeSeed):
            p.jury.record_seed(a.dispute_id)
        elif isinstance(a, dd.CommitVote):
            digest = self._digest(a.dispute_id, a.round)
            salt = j.plan(f"vote:{a.dispute_id}:{a.round}")
            p.jury.commit_vote(
                a.dispute_id, vote_commitment(a.dispute_id, a.round, self.me, digest, salt)
            )
        elif isinstance(a, dd.RevealVote):
            salt = j.plan(f"vote:{a.dispute_id}:{a.round}")
            p.jury.reveal_vote(a.dispute_id, self._digest(a.dispute_id, a.round), salt)
        elif isinstance(a, dd.Resolve):
            p.jury.resolve(a.dispute_id)
        elif isinstance(a, dd.VoidStale):
            p.dispute_game.void_stale(a.dispute_id)
        else:
            raise TypeError(f"the responder cannot send {a!r}")

    # --- payloads ---

    def _digest(self, dispute_id: int, round_: int) -> bytes:
        move = self.journal.move(digest_key(dispute_id, round_))
        if move is None:
            raise RuntimeError(f"no digest computed for dispute {dispute_id} round {round_}")
        return bytes.fromhex(str(move[2]["digest"]))

    def _roots(self, job_id: int, attempt: int, segments: tuple[int, ...]) -> list[bytes]:
        findings = self.journal.findings(job_id, attempt)
        roots = [findings[s].seg_root for s in segments]
        if any(r is None for r in roots):
            raise RuntimeError(f"job {job_id}: attesting a segment without a replayed segRoot")
        return [r for r in roots if r is not None]

    def _reveal_attestation(self, a: va.RevealAttestation) -> None:
        key = f"attest:{a.job_id}:{a.attempt}"
        move = self.journal.move(key)
        if move is None:
            raise RuntimeError(f"job {a.job_id}: revealing an attestation that was never planned")
        job = self.p.market.get_job(a.job_id)
        ctx = self.players.context(job)
        assert ctx.manifest is not None, "attested segments come from a checked manifest"
        leaves = [bytes.fromhex(v[2:]) for v in ctx.manifest.segment_leaves]
        tree = MerkleTree.build(leaves)
        proofs = [tree.proof(s - 1) for s in a.segments]
        roots = self._roots(a.job_id, a.attempt, a.segments)
        self.p.attestations.reveal_attestation(a.job_id, ctx.commitment, roots, move[1], proofs)
        self.journal.mark_sent(f"reveal:{a.job_id}:{a.attempt}")
