"""Typed adapter of ``DisputeGame`` (IDisputeGame): challenges, openings, bisection, timeouts.

The jury of a dispute lives in its own contract (``Jury``, same dispute ids): see ``jury.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from node.chain.adapter import ContractAdapter, first_event
from node.chain.attestations import commitment_words
from node.chain.dispute_events import DISPUTE_GAME_EVENTS, DisputeOpened
from node.chain.dispute_types import Dispute, Target, dispute_from_fields
from node.chain.events import snake
from node.chain.tx import SentTx
from node.chain.types import Commitment, Wei


class DisputeGameAdapter(ContractAdapter):
    CONTRACT = "DisputeGame"
    EVENTS = DISPUTE_GAME_EVENTS

    # --- challenger ---

    def commit_challenge(self, challenge_hash: bytes) -> SentTx:
        return self._transact("commitChallenge", challenge_hash)

    def reveal_challenge(self, job_id: int, segment: int, salt: bytes) -> DisputeOpened:
        sent = self._transact("revealChallenge", job_id, segment, salt)
        return first_event(self.events_in(sent.receipt), DisputeOpened)

    def open_availability_claim(self, job_id: int, target: Target, index: int) -> DisputeOpened:
        sent = self._transact("openAvailabilityClaim", job_id, int(target), index)
        return first_event(self.events_in(sent.receipt), DisputeOpened)

    def choose_range(self, dispute_id: int, k: int, hashes: Sequence[bytes]) -> SentTx:
        return self._transact("chooseRange", dispute_id, k, list(hashes))

    # --- solver ---

    def open_segment(
        self,
        dispute_id: int,
        commitment: Commitment,
        *,
        hash_start: bytes,
        start_proof: Sequence[bytes],
        hash_end: bytes,
        end_proof: Sequence[bytes],
        seg_root: bytes,
        seg_proof: Sequence[bytes],
        step0_proof: Sequence[bytes],
        step_k_proof: Sequence[bytes],
    ) -> SentTx:
        return self._transact(
            "openSegment",
            dispute_id,
            commitment_words(commitment),
            hash_start,
            list(start_proof),
            hash_end,
            list(end_proof),
            seg_root,
            list(seg_proof),
            list(step0_proof),
            list(step_k_proof),
        )

    def open_initial_state(
        self, dispute_id: int, commitment: Commitment, state_hash0: bytes, proof: Sequence[bytes]
    ) -> SentTx:
        return self._transact(
            "openInitialState", dispute_id, commitment_words(commitment), state_hash0, list(proof)
        )

    def propose_split(self, dispute_id: int, hashes: Sequence[bytes]) -> SentTx:
        return self._transact("proposeSplit", dispute_id, list(hashes))

    def confirm_step(
        self, dispute_id: int, lo_proof: Sequence[bytes], hi_proof: Sequence[bytes]
    ) -> SentTx:
        return self._transact("confirmStep", dispute_id, list(lo_proof), list(hi_proof))

    # --- anyone ---

    def timeout(self, dispute_id: int) -> SentTx:
        return self._transact("timeout", dispute_id)

    def void_stale(self, dispute_id: int) -> SentTx:
        return self._transact("voidStale", dispute_id)

    # --- views ---

    def get_dispute(self, dispute_id: int) -> Dispute:
        raw = tuple(self._call("getDispute", dispute_id))
        return dispute_from_fields(dispute_id, dict(zip(self._dispute_fields(), raw, strict=True)))

    def _dispute_fields(self) -> list[str]:
        get: Any = next(i for i in self.contract.abi if i.get("name") == "getDispute")
        return [snake(str(c["name"])) for c in get["outputs"][0]["components"]]

    def dispute_count(self) -> int:
        return int(self._call("disputeCount"))

    def split_points(self, dispute_id: int) -> list[int]:
        return [int(p) for p in self._call("splitPoints", dispute_id)]

    def challenge_bond_of(self, job_id: int) -> Wei:
        return Wei(int(self._call("challengeBondOf", job_id)))

    def challenge_fee_of(self, job_id: int) -> Wei:
        """Burned per revealed challenge (locked beside the bond; DISPUTES.md, "Jackpot")."""
        return Wei(int(self._call("challengeFeeOf", job_id)))

    def bisection_degree(self) -> int:
        return int(self._call("params")[2])
