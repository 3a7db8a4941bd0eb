"""Typed adapter of ``Attestations`` (IAttestations): seeds, attester commit/reveal, assignments."""

from __future__ import annotations

from collections.abc import Sequence

from node.chain.adapter import ContractAdapter, first_event
from node.chain.dispute_events import (
    ATTESTATIONS_EVENTS,
    AttestationCommitted,
    AttestationRevealed,
)
from node.chain.tx import SentTx
from node.chain.types import Commitment


def commitment_words(c: Commitment) -> list[bytes]:
    """The ``bytes32[4]`` commitment preimage the contracts take."""
    return [c.state_root, c.seg_roots_root, c.final_state_hash, c.manifest_hash]


class AttestationsAdapter(ContractAdapter):
    CONTRACT = "Attestations"
    EVENTS = ATTESTATIONS_EVENTS

    def record_seed(self, job_id: int) -> SentTx:
        """Record the attester seed (or move its target); the receipt holds AttestersDrawn."""
        return self._transact("recordSeed", job_id)

    def commit_attestation(self, job_id: int, digest: bytes) -> AttestationCommitted:
        sent = self._transact("commitAttestation", job_id, digest)
        return first_event(self.events_in(sent.receipt), AttestationCommitted)

    def reveal_attestation(
        self,
        job_id: int,
        commitment: Commitment,
        seg_roots: Sequence[bytes],
        salt: bytes,
        proofs: Sequence[Sequence[bytes]],
    ) -> AttestationRevealed:
        sent = self._transact(
            "revealAttestation",
            job_id,
            commitment_words(commitment),
            list(seg_roots),
            salt,
            [list(p) for p in proofs],
        )
        return first_event(self.events_in(sent.receipt), AttestationRevealed)

    # --- views ---

    def assigned_segments(self, job_id: int, account: str) -> list[int]:
        return [int(s) for s in self._call("assignedSegments", job_id, account)]

    def seed_of(self, job_id: int, attempt: int) -> tuple[int, bytes]:
        target, seed = self._call("seedOf", job_id, attempt)
        return int(target), bytes(seed)

    def attesters_of(self, job_id: int, attempt: int) -> list[tuple[str, bytes, int, bool]]:
        """(account, digest, validSegments, revealed) per attester, in draw order."""
        return [
            (str(a), bytes(d), int(v), bool(r))
            for a, _commit_block, d, v, r, _mask in self._call("attestersOf", job_id, attempt)
        ]

    def segments_at(self, seed: bytes, num_segments: int, first: int, count: int) -> list[int]:
        """The contract's own Feistel assignment (a pure view), for cross-checking the mirror."""
        return [int(s) for s in self._call("segmentsAt", seed, num_segments, first, count)]

    def payouts_of(self, job_id: int, attempt: int) -> tuple[list[str], list[int], int]:
        """(attesters with valid segments, their counts, total assigned segments)."""
        accounts, valid, total = self._call("payoutsOf", job_id, attempt)
        return [str(a) for a in accounts], [int(v) for v in valid], int(total)

    def attesters_per_job(self) -> int:
        return int(self._call("attestersPerJob"))

    def seed_delay(self) -> int:
        return int(self._call("seedDelay"))
