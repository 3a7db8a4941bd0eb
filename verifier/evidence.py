"""Checking a solver's published trace against its on-chain commitment, before any replay.

A verifier trusts nothing it fetched: the manifest must hash to the committed ``manifestHash``, its
checkpoint leaves must rebuild ``stateRoot``, its segment leaves ``segRootsRoot``, and every leaf
must be bound to this job, attempt and position. Each checkpoint blob must hash to the stateHash the
manifest lists (so a verifier that only hashes public checkpoints learns nothing about segRoots).
Failures here are not replay disagreements: they are reasons for an availability claim or a
challenge, so they are reported as a typed ``TraceFault`` rather than an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from node.chain.types import Commitment
from node.errors import StorageError, StorageUnavailableError, TraceError
from node.storage import BlobStore
from node.trace.manifest import Manifest, parse_manifest
from node.trace.merkle import MerkleTree, checkpoint_leaf
from node.trace.state import TrainState
from node.training.checkpoint import load_checkpoint
from node.training.spec import JobSpec


class TraceFault(StrEnum):
    """Why a published trace cannot be accepted as it stands."""

    MANIFEST_MISSING = "manifest_missing"
    MANIFEST_INVALID = "manifest_invalid"
    CHECKPOINT_MISSING = "checkpoint_missing"
    CHECKPOINT_INVALID = "checkpoint_invalid"


class TraceFaultError(TraceError):
    """Raised when a published manifest or checkpoint is missing or inconsistent with the commit."""

    def __init__(self, fault: TraceFault, message: str, *, checkpoint: int | None = None) -> None:
        super().__init__(message)
        self.fault = fault
        self.checkpoint = checkpoint


def _h(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def fetch_manifest(
    store: BlobStore, commitment: Commitment, *, job_id: int, attempt: int, spec: JobSpec
) -> Manifest:
    """The manifest committed on-chain, checked leaf by leaf; TraceFaultError when unusable."""
    address = "sha256:" + commitment.manifest_hash.hex()
    try:
        blob = store.get(address)
    except StorageUnavailableError:
        raise  # our store is down: no verdict on the solver's blob
    except StorageError as err:
        raise TraceFaultError(TraceFault.MANIFEST_MISSING, f"manifest {address}: {err}") from err
    try:
        manifest = parse_manifest(blob)
    except TraceError as err:
        raise TraceFaultError(TraceFault.MANIFEST_INVALID, str(err)) from err
    problems = manifest_problems(manifest, commitment, job_id=job_id, attempt=attempt, spec=spec)
    if problems:
        raise TraceFaultError(TraceFault.MANIFEST_INVALID, "; ".join(problems))
    return manifest


def manifest_problems(
    manifest: Manifest, commitment: Commitment, *, job_id: int, attempt: int, spec: JobSpec
) -> list[str]:
    """Every way the manifest disagrees with the commitment (empty when consistent)."""
    problems = []
    if (manifest.job_id, manifest.attempt) != (job_id, attempt):
        problems.append(f"manifest is for job {manifest.job_id} attempt {manifest.attempt}")
    if _h(manifest.spec_hash) != spec.spec_hash():
        problems.append("manifest names another spec")
    if (manifest.steps, manifest.checkpoint_every) != (spec.steps, spec.checkpoint_every):
        problems.append("manifest steps/checkpointEvery differ from the spec")
    leaves = [_h(v) for v in manifest.checkpoint_leaves]
    for i, cp in enumerate(manifest.checkpoints):
        if cp.index != i or cp.step != i * manifest.checkpoint_every:
            problems.append(f"checkpoint {i} is listed as index {cp.index} step {cp.step}")
        elif checkpoint_leaf(job_id, attempt, i, _h(cp.state_hash)) != leaves[i]:
            problems.append(f"checkpoint leaf {i} does not carry checkpoint {i}'s stateHash")
    if MerkleTree.build(leaves).root != commitment.state_root:
        problems.append("checkpoint leaves do not rebuild stateRoot")
    seg_leaves = [_h(v) for v in manifest.segment_leaves]
    if MerkleTree.build(seg_leaves).root != commitment.seg_roots_root:
        problems.append("segment leaves do not rebuild segRootsRoot")
    if (
        _h(manifest.final_state_hash) != commitment.final_state_hash
        or _h(manifest.checkpoints[-1].state_hash) != commitment.final_state_hash
    ):
        problems.append("finalStateHash is not the last checkpoint's stateHash")
    return problems


def fetch_checkpoint(spec: JobSpec, store: BlobStore, manifest: Manifest, index: int) -> TrainState:
    """Checkpoint ``index`` of a checked manifest, hash-checked; TraceFaultError when unusable."""
    cp = manifest.checkpoints[index]
    try:
        blob = store.get(cp.address)
    except StorageUnavailableError:
        raise  # our store is down: no verdict on the solver's blob
    except StorageError as err:
        raise TraceFaultError(
            TraceFault.CHECKPOINT_MISSING, f"checkpoint {index}: {err}", checkpoint=index
        ) from err
    try:
        state, _ = load_checkpoint(spec, blob, _h(cp.state_hash), what=f"checkpoint {index}")
    except TraceError as err:
        raise TraceFaultError(TraceFault.CHECKPOINT_INVALID, str(err), checkpoint=index) from err
    if state.step != cp.step:
        raise TraceFaultError(
            TraceFault.CHECKPOINT_INVALID,
            f"checkpoint {index} holds step {state.step}, not {cp.step}",
            checkpoint=index,
        )
    return state


@dataclass(frozen=True)
class ManifestView:
    """Typed accessors over a checked manifest (hex strings decoded once)."""

    manifest: Manifest

    def checkpoint_hash(self, index: int) -> bytes:
        return _h(self.manifest.checkpoints[index].state_hash)

    def segment_leaf(self, segment: int) -> bytes:
        return _h(self.manifest.segment_leaves[segment - 1])

    @property
    def segments(self) -> int:
        return len(self.manifest.segment_leaves)
