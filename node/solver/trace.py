"""The solver's committed trace, reloaded from its work folder to answer disputes (docs/PROTOCOL.md §6).

Everything a dispute asks of the solver derives from files it wrote while training: checkpoint
records (stateHashes and blob addresses), per-segment step hashes, and the committed segRoots.
The hashes *as committed* are what it must open (under a fault hook they differ from what it
computed, and the openings then fail on-chain exactly as a cheater's would). States are
regenerated from the solver's own checkpoint ``i-1`` with the same step function it trained
with (fault hooks included), so a cheater reveals the digest of the state it actually claimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node import faults
from node.storage import BlobStore
from node.trace.commitment import segment_tree
from node.trace.merkle import MerkleTree, checkpoint_leaf, segment_leaf
from node.trace.state import TrainState
from node.trace.workdir import CheckpointRecord, WorkDir, read_json
from node.training.checkpoint import load_checkpoint
from node.training.data import load_dataset
from node.training.session import TrainingSession
from node.training.spec import JobSpec
from node.training.unit import UnitId


@dataclass(frozen=True)
class Opening:
    """Arguments of ``openSegment`` for segment ``i``."""

    hash_start: bytes
    start_proof: list[bytes]
    hash_end: bytes
    end_proof: list[bytes]
    seg_root: bytes
    seg_proof: list[bytes]
    step0_proof: list[bytes]
    step_k_proof: list[bytes]


class SolverTrace:
    """One committed attempt of the solver: proofs and regenerated states on demand."""

    def __init__(
        self,
        spec: JobSpec,
        store: BlobStore,
        work_dir: Path,
        job_id: int,
        attempt: int,
        unit: UnitId | None = None,
    ):
        self.spec, self.store, self.job_id, self.attempt = spec, store, job_id, attempt
        self.unit = unit  # a rounds job's unit: its own key and schedule offset
        self.work = WorkDir(work_dir, spec_hash=spec.spec_hash(), job_id=job_id, attempt=attempt)
        self.records: list[CheckpointRecord] = self.work.checkpoints()
        result = read_json(work_dir / "result.json")
        self.seg_roots = [bytes.fromhex(r[2:]) for r in result["seg_roots"]]
        self.plan = faults.active()  # FAULT HOOK: test-only, None unless CROWDTRAIN_FAULT is set

    def step_hashes(self, segment: int) -> list[bytes]:
        """The K+1 step hashes of ``segment`` as committed in its segRoot."""
        hashes, _ = self.work.segment(segment)
        return faults.committed_step_hashes(self.plan, segment, hashes)  # FAULT HOOK

    def _checkpoint_tree(self) -> MerkleTree:
        return MerkleTree.build(
            [
                checkpoint_leaf(self.job_id, self.attempt, r.index, r.state_hash)
                for r in self.records
            ]
        )

    def checkpoint_proof(self, index: int) -> tuple[bytes, list[bytes]]:
        return self.records[index].state_hash, self._checkpoint_tree().proof(index)

    def opening(self, segment: int) -> Opening:
        cp = self._checkpoint_tree()
        seg_tree = MerkleTree.build(
            [
                segment_leaf(self.job_id, self.attempt, i + 1, r)
                for i, r in enumerate(self.seg_roots)
            ]
        )
        steps = self.step_tree(segment)
        k = self.spec.checkpoint_every
        return Opening(
            hash_start=self.records[segment - 1].state_hash,
            start_proof=cp.proof(segment - 1),
            hash_end=self.records[segment].state_hash,
            end_proof=cp.proof(segment),
            seg_root=self.seg_roots[segment - 1],
            seg_proof=seg_tree.proof(segment - 1),
            step0_proof=steps.proof(0),
            step_k_proof=steps.proof(k),
        )

    def step_tree(self, segment: int) -> MerkleTree:
        return segment_tree(self.job_id, self.attempt, segment, self.step_hashes(segment))

    def claimed_state(self, step: int) -> TrainState:
        """The state at global ``step`` as this solver computed it (from checkpoint ``i-1``)."""
        k = self.spec.checkpoint_every
        state = self._load(self.records[step // k])  # a checkpoint is stored as claimed
        session = TrainingSession(
            self.spec, load_dataset(self.spec, self.store), store=self.store, unit=self.unit
        )
        while state.step < step:  # interior steps only: the next checkpoint is beyond ``step``
            state = faults.step(self.plan, session, state)  # FAULT HOOK: session.step(state)
        return state

    def _load(self, record: CheckpointRecord) -> TrainState:
        state, _ = load_checkpoint(self.spec, self.store.get(record.address), record.state_hash)
        return state
