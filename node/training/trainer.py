"""``train``: run a job spec to completion, checkpointing, hashing every step and committing the trace.

Per step: one ``TrainingSession.step`` and one serialization hashed with BLAKE3 (loss included).
Every K steps: the checkpoint blob (the same bytes that were hashed) goes to the blob store, the
segment's K+1 hashes and losses go to the work dir, then progress is recorded. At the end the trees
of docs/PROTOCOL.md §4 are built, the manifest is stored as a blob and a ``TrainResult`` is returned.

Resumable: rerunning with the same work dir continues from the last recorded checkpoint. The state is
complete (params, optimizer, RNG key, data cursor) and each step is a pure function of it, so a
resumed run reproduces the uninterrupted run bit for bit (on the same runtime/hardware for
``native``; anywhere for ``repro-v1``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from node import faults
from node.errors import TraceError
from node.storage import BlobStore
from node.trace.commitment import build_commitment, seg_root
from node.trace.manifest import Manifest, build_manifest
from node.trace.state import TrainState, encode_state, state_hash
from node.trace.workdir import CheckpointRecord, WorkDir
from node.training.checkpoint import load_checkpoint
from node.training.data import load_dataset
from node.training.session import TrainingSession
from node.training.spec import JobSpec
from node.training.unit import UnitId

CheckpointCallback = Callable[[CheckpointRecord], None]


@dataclass(frozen=True)
class TrainResult:
    """What a solver commits (roots, finalStateHash, manifest) and what it keeps (segment roots)."""

    spec_hash: bytes
    job_id: int
    attempt: int
    state_root: bytes
    seg_roots_root: bytes
    final_state_hash: bytes
    final_state_proof: list[bytes]
    manifest_address: str
    manifest_hash: bytes
    manifest: Manifest
    checkpoints: list[CheckpointRecord]
    seg_roots: list[bytes]
    losses: list[float]
    seconds: float
    resumed_from_step: int

    def summary(self) -> dict[str, object]:
        """JSON-friendly summary (hex strings), as printed by ``crowdtrain train --json``."""
        finite = [v for v in self.losses if math.isfinite(v)]
        return {
            "final_state_hash": "0x" + self.final_state_hash.hex(),
            "state_root": "0x" + self.state_root.hex(),
            "seg_roots_root": "0x" + self.seg_roots_root.hex(),
            "manifest": self.manifest_address,
            "final_state_proof": ["0x" + p.hex() for p in self.final_state_proof],
            "spec_hash": "0x" + self.spec_hash.hex(),
            "steps": len(self.losses),
            "losses": {
                "first": self.losses[0] if self.losses else None,
                "last": self.losses[-1] if self.losses else None,
                "min": min(finite) if finite else None,
            },
            "seconds": round(self.seconds, 3),
            "resumed_from_step": self.resumed_from_step,
        }


def _resume(
    spec: JobSpec, session: TrainingSession, store: BlobStore, records: list[CheckpointRecord]
) -> TrainState:
    last = records[-1]
    blob = store.get(last.address)
    state, _ = load_checkpoint(spec, blob, last.state_hash, what=f"checkpoint {last.index}")
    if state.step != last.step:
        raise TraceError(f"checkpoint {last.index} holds step {state.step}, expected {last.step}")
    return state


def train(
    spec: JobSpec,
    *,
    store: BlobStore,
    work_dir: Path | str,
    job_id: int,
    attempt: int,
    threads: int | None = None,
    on_checkpoint: CheckpointCallback | None = None,
    device: torch.device | str = "cpu",
    unit: UnitId | None = None,
    start: TrainState | None = None,
) -> TrainResult:
    """Train ``spec`` (resuming from ``work_dir`` if it holds progress) and commit its trace.

    Steps run on ``device``; states, hashes and checkpoints are the same bytes on any device for
    ``repro-v1``. A rounds job's unit trains as ``unit`` from ``start``, its round-start state
    (``node.training.rounds.round_start_state``; ``None``: the session's ``initial_state``).
    """
    started = time.perf_counter()
    if threads is not None:
        torch.set_num_threads(threads)
    k = spec.checkpoint_every
    work = WorkDir(work_dir, spec_hash=spec.spec_hash(), job_id=job_id, attempt=attempt)
    session = TrainingSession(
        spec, load_dataset(spec, store), device=device, store=store, unit=unit
    )
    fault = faults.active()  # FAULT HOOK: test-only, None unless CROWDTRAIN_FAULT is set
    records = work.checkpoints()
    if records:
        state = _resume(spec, session, store, records)
    else:
        if start is None:
            start = session.initial_state()
        elif start.step != 0 or start.rng_key != session.key:
            raise TraceError(f"the start state is not a state 0 of unit {unit}")
        state = faults.initial_state(fault, session, start)  # FAULT HOOK
        blob, h = encode_state(state)
        records = [CheckpointRecord(0, 0, store.put(blob), h, session.validation_loss(state))]
        work.record_checkpoint(records)
        if on_checkpoint is not None:
            on_checkpoint(records[0])
    resumed_from = state.step

    for segment in range(len(records), spec.segments + 1):
        hashes, losses = [records[-1].state_hash], []
        for j in range(1, k + 1):
            state = faults.step(fault, session, state)  # FAULT HOOK: session.step(state)
            losses.append(float(state.loss))
            if j < k:
                hashes.append(state_hash(state))
        state = faults.at_checkpoint(fault, segment, spec.segments, state)  # FAULT HOOK
        blob, h = encode_state(state)
        hashes.append(h)
        val = session.validation_loss(state)
        record = CheckpointRecord(segment, segment * k, store.put(blob), h, val)
        work.write_segment(segment, hashes, losses)
        records = [*records, record]
        work.record_checkpoint(records)
        if on_checkpoint is not None:
            on_checkpoint(record)

    return _commit(spec, store, work, job_id, attempt, records, started, resumed_from)


def _commit(
    spec: JobSpec,
    store: BlobStore,
    work: WorkDir,
    job_id: int,
    attempt: int,
    records: list[CheckpointRecord],
    started: float,
    resumed_from: int,
) -> TrainResult:
    seg_roots, losses = [], []
    fault = faults.active()  # FAULT HOOK: test-only, None unless CROWDTRAIN_FAULT is set
    for segment in range(1, spec.segments + 1):
        hashes, seg_losses = work.segment(segment)
        if (
            hashes[0] != records[segment - 1].state_hash
            or hashes[-1] != records[segment].state_hash
        ):
            raise TraceError(
                f"segment {segment} hashes in {work.root} disagree with its checkpoints"
            )
        committed = faults.committed_step_hashes(fault, segment, hashes)  # FAULT HOOK
        seg_roots.append(seg_root(job_id, attempt, segment, committed))
        losses.extend(seg_losses)
    seg_roots = faults.committed_seg_roots(fault, seg_roots)  # FAULT HOOK
    commitment = build_commitment(job_id, attempt, [r.state_hash for r in records], seg_roots)
    manifest = build_manifest(
        spec_hash=spec.spec_hash(),
        steps=spec.steps,
        checkpoint_every=spec.checkpoint_every,
        commitment=commitment,
        checkpoint_addresses=[r.address for r in records],
        losses=losses,
        validation_losses=[r.validation_loss for r in records],
    )
    manifest_address = store.put(manifest.canonical_json())
    result = TrainResult(
        spec_hash=spec.spec_hash(),
        job_id=job_id,
        attempt=attempt,
        state_root=commitment.state_root,
        seg_roots_root=commitment.seg_roots_root,
        final_state_hash=commitment.final_state_hash,
        final_state_proof=list(commitment.final_state_proof),
        manifest_address=manifest_address,
        manifest_hash=manifest.manifest_hash(),
        manifest=manifest,
        checkpoints=records,
        seg_roots=seg_roots,
        losses=losses,
        seconds=time.perf_counter() - started,
        resumed_from_step=resumed_from,
    )
    work.write_result({**result.summary(), "seg_roots": ["0x" + r.hex() for r in seg_roots]})
    return result
