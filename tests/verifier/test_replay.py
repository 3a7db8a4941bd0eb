"""Replay and evidence: an honest trace replays to its committed leaves; tampering is pinned."""

from __future__ import annotations

import os

import pytest
from verifier_kit import ATTEMPT, JOB_ID, Trained

from node.chain.types import Commitment
from node.trace.state import encode_state
from node.trace.workdir import WorkDir
from node.training.data import load_dataset
from node.training.session import TrainingSession
from node.votes import blob_digest, state_digest
from verifier.evidence import (
    ManifestView,
    TraceFault,
    TraceFaultError,
    fetch_checkpoint,
    fetch_manifest,
)
from verifier.replay import (
    Verdict,
    initial_state_ok,
    judge_segment,
    regenerate_state,
    replay_segment,
)


def commitment_of(t: Trained) -> Commitment:
    r = t.result
    return Commitment(r.state_root, r.seg_roots_root, r.final_state_hash, r.manifest_hash)


def test_honest_segments_replay_to_committed_leaves(honest: Trained) -> None:
    manifest = fetch_manifest(
        honest.store, commitment_of(honest), job_id=JOB_ID, attempt=ATTEMPT, spec=honest.spec
    )
    view = ManifestView(manifest)
    session = TrainingSession(honest.spec, load_dataset(honest.spec, honest.store))
    assert initial_state_ok(session, view)
    for i in range(1, view.segments + 1):
        start = fetch_checkpoint(honest.spec, honest.store, manifest, i - 1)
        replay = replay_segment(session, start, job_id=JOB_ID, attempt=ATTEMPT, segment=i)
        assert replay.seg_root == honest.result.seg_roots[i - 1]
        assert judge_segment(replay, view) is Verdict.MATCH


def test_replay_bound_to_attempt(honest: Trained) -> None:
    """A replay for another attempt yields another leaf: roots of old attempts cannot be reused."""
    manifest = fetch_manifest(
        honest.store, commitment_of(honest), job_id=JOB_ID, attempt=ATTEMPT, spec=honest.spec
    )
    session = TrainingSession(honest.spec, load_dataset(honest.spec, honest.store))
    start = fetch_checkpoint(honest.spec, honest.store, manifest, 0)
    other = replay_segment(session, start, job_id=JOB_ID, attempt=ATTEMPT + 1, segment=1)
    assert judge_segment(other, ManifestView(manifest)) is Verdict.SEGMENT_MISMATCH


def test_manifest_checked_against_commitment(honest: Trained) -> None:
    c = commitment_of(honest)
    with pytest.raises(TraceFaultError) as err:
        fetch_manifest(honest.store, c, job_id=JOB_ID + 1, attempt=ATTEMPT, spec=honest.spec)
    assert err.value.fault is TraceFault.MANIFEST_INVALID
    missing = Commitment(c.state_root, c.seg_roots_root, c.final_state_hash, b"\x01" * 32)
    with pytest.raises(TraceFaultError) as err:
        fetch_manifest(honest.store, missing, job_id=JOB_ID, attempt=ATTEMPT, spec=honest.spec)
    assert err.value.fault is TraceFault.MANIFEST_MISSING


def test_missing_or_corrupt_checkpoint(honest: Trained, tmp_path: os.PathLike[str]) -> None:
    from node.storage import LocalBlobStore

    manifest = honest.result.manifest
    empty = LocalBlobStore(str(tmp_path))
    with pytest.raises(TraceFaultError) as err:
        fetch_checkpoint(honest.spec, empty, manifest, 1)
    assert (err.value.fault, err.value.checkpoint) == (TraceFault.CHECKPOINT_MISSING, 1)
    # a checkpoint stored under the right address but listed with another stateHash
    swapped = manifest.model_copy(
        update={
            "checkpoints": [
                manifest.checkpoints[0],
                manifest.checkpoints[1].model_copy(
                    update={"address": manifest.checkpoints[2].address}
                ),
                *manifest.checkpoints[2:],
            ]
        }
    )
    with pytest.raises(TraceFaultError) as err:
        fetch_checkpoint(honest.spec, honest.store, swapped, 1)
    assert err.value.fault is TraceFault.CHECKPOINT_INVALID


def test_regenerate_and_state_digest(honest: Trained) -> None:
    manifest = honest.result.manifest
    session = TrainingSession(honest.spec, load_dataset(honest.spec, honest.store))
    start = fetch_checkpoint(honest.spec, honest.store, manifest, 1)
    k = honest.spec.checkpoint_every
    state = regenerate_state(session, start, k + 2)
    work = WorkDir(
        honest.work_dir, spec_hash=honest.spec.spec_hash(), job_id=JOB_ID, attempt=ATTEMPT
    )
    hashes, _ = work.segment(2)
    blob, h = encode_state(state)
    assert h == hashes[2]
    salt = b"r" * 32
    assert state_digest(salt, state) == blob_digest(salt, blob)
    assert state_digest(salt, state) != state_digest(b"s" * 32, state)
    assert state_digest(salt, state) != h
    with pytest.raises(ValueError):
        regenerate_state(session, state, k)
