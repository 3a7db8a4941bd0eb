"""The solver as a party of disputes (docs/PROTOCOL.md §6): the respondent of every dispute on its committed
jobs, and the claimant of its own Dataset availability claims.

Per tick: read each unresolved dispute naming this solver, let ``decide_solver_dispute`` pick the
move, and make it — openings and step proofs from ``SolverTrace``, the disputed state regenerated
and stored as a blob before the jury needs it, and a salted-digest vote whose salt is journalled
before the commit is sent (so a restart reveals with the same salt). As the claimant of a Dataset
claim it votes the digest of the dataset as its store serves it (0 when unavailable: a claimant
must reveal, whatever it reveals). ``node.solver.defense`` reuses this class for the submitter's
side of Dataset claims. Fault hooks: ``silent`` answers nothing, ``withhold_step_state`` never
stores the state.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path

from node import faults
from node.chain.dispute_events import DisputeOpened
from node.chain.dispute_types import Dispute, DisputeKind, DisputePhase, Panel, Target
from node.chain.events import JobCommitted
from node.chain.protocol import Protocol
from node.chain.types import Commitment
from node.errors import CrowdtrainError, TransactionRevertedError
from node.rounds import unit_of_job
from node.solver.decide import DatasetClaim
from node.solver.dispute_decide import SolverDisputeKnowledge, SolverMove, decide_solver_dispute
from node.solver.journal import SolverJournal
from node.solver.trace import SolverTrace
from node.storage import BlobStore
from node.trace.state import encode_state
from node.training.spec import load_spec
from node.votes import (
    UNAVAILABLE,
    dataset_digest,
    state_digest,
    stored_blob_digest,
    vote_commitment,
)

log = logging.getLogger("crowdtrain.solver")


class SolverDisputes:
    """Answers the disputes of one solver account."""

    def __init__(
        self,
        protocol: Protocol,
        store: BlobStore,
        data_dir: Path,
        journal: SolverJournal,
        now: Callable[[], int],
    ) -> None:
        self.p, self.store, self.data_dir, self.journal = protocol, store, data_dir, journal
        self.me = protocol.address
        self._now = now
        self._done: set[int] = set()
        self._traces: dict[tuple[int, int], SolverTrace] = {}
        self.plan = faults.active()  # FAULT HOOK: test-only, None unless CROWDTRAIN_FAULT is set

    def tick(self) -> bool:
        """Make every move due now; True if a transaction was sent."""
        moved = False
        for dispute_id in range(1, self.p.dispute_game.dispute_count() + 1):
            if dispute_id in self._done:
                continue
            d = self.p.dispute_game.get_dispute(dispute_id)
            if d.phase is DisputePhase.RESOLVED or not self.concerns(d):
                self._done.add(dispute_id)
                continue
            moved |= self._play(d)
        return moved

    def concerns(self, d: Dispute) -> bool:
        """Whether this player answers ``d``: every dispute naming this account as a party."""
        return self.me in (d.solver, d.challenger)

    def dataset_claim(self, job_id: int, attempt: int) -> DatasetClaim:
        """Our Dataset availability claims on ``(job_id, attempt)``, from the chain (so a restart
        never opens a second one). A claim that could not be opened counts as rejected."""
        if self.journal.get_move(f"dataset-claim:{job_id}:{attempt}") == "failed":
            return DatasetClaim.REJECTED
        state = DatasetClaim.NONE
        game = self.p.dispute_game
        for e in game.get_events("DisputeOpened", filters={"jobId": job_id}):
            if not isinstance(e, DisputeOpened) or e.attempt != attempt:
                continue
            if e.target != Target.DATASET or e.challenger != self.me:
                continue
            if game.get_dispute(e.dispute_id).phase is not DisputePhase.RESOLVED:
                return DatasetClaim.OPEN
            state = DatasetClaim.REJECTED
        return state

    def open_count(self) -> int:
        """Unresolved disputes this solver is a party of (the daemon keeps running while > 0)."""
        return self.p.dispute_game.dispute_count() - len(self._done)

    def _play(self, d: Dispute) -> bool:
        panel = self.p.jury.panel_of(d.dispute_id) if d.phase is DisputePhase.JURY else None
        moves = decide_solver_dispute(d, panel, self._knowledge(d, panel), self._now())
        sent = False
        for move in moves:
            try:
                sent |= self._make(move, d, panel)
            except TransactionRevertedError as err:
                log.warning("dispute %d: %s rejected: %s", d.dispute_id, move.value, err)
        return sent

    def _knowledge(self, d: Dispute, panel: Panel | None) -> SolverDisputeKnowledge:
        committed = revealed = False
        if panel is not None:
            vote = self.p.jury.vote_of(d.dispute_id, panel.round, self.me)
            committed, revealed = vote.commitment != UNAVAILABLE, vote.revealed
        return SolverDisputeKnowledge(
            me=self.me,
            block_number=self.p.w3.eth.block_number,
            answers=faults.answers_disputes(self.plan),  # FAULT HOOK
            state_published=self.journal.get_move(f"state:{d.dispute_id}") is not None,
            vote_committed=committed,
            vote_revealed=revealed,
        )

    def _trace(self, d: Dispute) -> SolverTrace:
        key = (d.job_id, d.attempt)
        if key not in self._traces:
            job = self.p.market.get_job(d.job_id)
            spec = load_spec(self.store.get("sha256:" + job.spec_hash.hex()))
            work = self.data_dir / "work" / f"job-{d.job_id}-attempt-{d.attempt}"
            ref = unit_of_job(self.p, d.job_id)
            unit = None if ref is None else ref.unit
            self._traces[key] = SolverTrace(spec, self.store, work, d.job_id, d.attempt, unit)
        return self._traces[key]

    def _commitment(self, d: Dispute) -> Commitment:
        event = next(
            e
            for e in self.p.market.get_events("JobCommitted", filters={"jobId": d.job_id})
            if isinstance(e, JobCommitted) and e.attempt == d.attempt
        )
        return Commitment(
            event.state_root, event.seg_roots_root, event.final_state_hash, event.manifest_hash
        )

    def _make(self, move: SolverMove, d: Dispute, panel: Panel | None) -> bool:
        game, jury, i = self.p.dispute_game, self.p.jury, d.dispute_id
        if move is SolverMove.OPEN_SEGMENT:
            o = self._trace(d).opening(d.segment)
            game.open_segment(
                i,
                self._commitment(d),
                hash_start=o.hash_start,
                start_proof=o.start_proof,
                hash_end=o.hash_end,
                end_proof=o.end_proof,
                seg_root=o.seg_root,
                seg_proof=o.seg_proof,
                step0_proof=o.step0_proof,
                step_k_proof=o.step_k_proof,
            )
        elif move is SolverMove.OPEN_INITIAL_STATE:
            h, proof = self._trace(d).checkpoint_proof(0)
            game.open_initial_state(i, self._commitment(d), h, proof)
        elif move is SolverMove.PROPOSE_SPLIT:
            hashes = self._trace(d).step_hashes(d.segment)
            game.propose_split(i, [hashes[p] for p in game.split_points(i)])
        elif move is SolverMove.CONFIRM_STEP:
            tree = self._trace(d).step_tree(d.segment)
            game.confirm_step(i, tree.proof(d.lo), tree.proof(d.hi))
        elif move is SolverMove.TIMEOUT:
            game.timeout(i)
        elif move is SolverMove.RECORD_SEED:
            jury.record_seed(i)
        elif move is SolverMove.PUBLISH_STATE:
            self._publish(d)
            return False
        elif move is SolverMove.COMMIT_VOTE and panel is not None:
            key = f"vote:{i}:{panel.round}"
            saved = self.journal.get_move(key)
            if saved is None:  # journalled before the commit is sent, reused after a restart
                digest = self._digest(d, panel.salt)
                if digest == UNAVAILABLE and d.solver == self.me:
                    # Revealing 0 loses anyway and (Jury.settle) would count honest "unavailable"
                    # jurors as siding with us: a respondent without the state does not vote.
                    # (A claimant must reveal, 0 included, or it loses: Jury.resolve.)
                    log.warning("dispute %d: state unavailable, not voting", i)
                    return False
                saved = secrets.token_bytes(32).hex() + digest.hex()
                self.journal.put_move(key, saved)
            salt, digest = bytes.fromhex(saved[:64]), bytes.fromhex(saved[64:])
            jury.commit_vote(i, vote_commitment(i, panel.round, self.me, digest, salt))
        elif move is SolverMove.REVEAL_VOTE and panel is not None:
            saved = self.journal.get_move(f"vote:{i}:{panel.round}")
            if saved is None:
                log.error("dispute %d: no journalled vote to reveal", i)
                return False
            jury.reveal_vote(i, bytes.fromhex(saved[64:]), bytes.fromhex(saved[:64]))
        elif move is SolverMove.RESOLVE:
            jury.resolve(i)
        log.info("dispute %d: %s", i, move.value)
        return True

    def _publish(self, d: Dispute) -> None:
        """Store state j (regenerated from checkpoint i-1) where jurors fetch it."""
        if faults.publishes_step_state(self.plan):  # FAULT HOOK
            blob, _ = encode_state(self._trace(d).claimed_state(d.pinned_step))
            self.store.put(blob)
        self.journal.put_move(f"state:{d.dispute_id}", "published")

    def _digest(self, d: Dispute, salt: bytes) -> bytes:
        """BLAKE3(r ‖ the state this solver claims): state j+1, state 0, or the claimed blob; for
        a Dataset claim (either side) the dataset blob as the store serves it."""
        if d.target is Target.DATASET:
            return dataset_digest(self.store, self.p.market.get_job(d.job_id), salt)
        try:
            trace = self._trace(d)
            if d.kind is DisputeKind.SEGMENT:
                state = trace.claimed_state(d.pinned_step + 1)
            elif d.kind is DisputeKind.INITIAL_STATE:
                state = trace.claimed_state(0)
            else:
                return self._blob_digest(trace, d, salt)
        except (CrowdtrainError, OSError, IndexError) as err:
            log.warning("dispute %d: cannot compute the digest: %s", d.dispute_id, err)
            return UNAVAILABLE
        return state_digest(salt, state)

    def _blob_digest(self, trace: SolverTrace, d: Dispute, salt: bytes) -> bytes:
        if d.target is Target.MANIFEST:
            address = "sha256:" + self._commitment(d).manifest_hash.hex()
        elif d.target is Target.FINAL_MODEL:
            address = trace.records[-1].address
        else:
            address = trace.records[d.segment].address
        return stored_blob_digest(self.store, address, salt)
