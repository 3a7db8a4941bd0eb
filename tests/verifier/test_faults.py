"""Every training-side fault of node/faults.py is caught by replaying the segment it targets."""

from __future__ import annotations

from pathlib import Path

import pytest
from verifier_kit import ATTEMPT, JOB_ID, Trained, train_tiny

from node import faults
from node.chain.anvil import free_port
from node.errors import ConfigError, StorageUnavailableError
from node.storage import LocalBlobStore
from node.storage.api import ApiBlobStore
from node.training.data import load_dataset
from node.training.session import TrainingSession
from node.votes import UNAVAILABLE, blob_digest, stored_blob_digest
from verifier.audit import audit_segment
from verifier.evidence import TraceFault, TraceFaultError, fetch_checkpoint

# fault → the segment (0 = initial state) where replay must disagree, when targeting segment 2 of 3
CAUGHT_AT = {
    faults.Fault.SKIP_STEP: 2,
    faults.Fault.ALTER_STEP: 2,
    faults.Fault.OTHER_DATA: 2,
    faults.Fault.LOW_PRECISION: 2,
    faults.Fault.FAKE_FINAL: 3,
    faults.Fault.WRONG_INITIAL_STATE: 0,
    faults.Fault.TAMPERED_CHECKPOINT: 2,
    faults.Fault.STEP_HASHES_VS_SEGROOT: 2,
    faults.Fault.STEP_HASHES_VS_CHECKPOINT: 2,
    faults.Fault.DUPLICATED_LEAF: 2,
}


def findings(t: Trained) -> dict[int, bool]:
    session = TrainingSession(t.spec, load_dataset(t.spec, t.store))
    out = {}
    for i in range(0, t.spec.segments + 1):
        f = audit_segment(
            session, t.store, t.result.manifest, job_id=JOB_ID, attempt=ATTEMPT, segment=i
        )
        assert f.verdict is not None
        out[i] = f.fraud
    return out


def test_honest_trace_has_no_finding(honest: Trained) -> None:
    assert not any(findings(honest).values())


@pytest.mark.parametrize("fault", list(CAUGHT_AT), ids=str)
def test_fault_caught_in_its_segment(
    fault: faults.Fault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(faults.ENV, f"{fault.value}:2")
    found = findings(train_tiny(tmp_path))
    assert [i for i, bad in found.items() if bad] == [CAUGHT_AT[fault]]


@pytest.mark.parametrize(
    ("fault", "missing"),
    [
        (faults.Fault.WITHHOLD_CHECKPOINT, 2),
        (faults.Fault.WITHHOLD_FINAL_MODEL, 3),
    ],
)
def test_withheld_checkpoint_is_a_finding(
    fault: faults.Fault, missing: int, honest: Trained, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path)
    for address in [honest.spec.dataset.address, *(c.address for c in honest.result.checkpoints)]:
        store.put(honest.store.get(address))
    store.put(honest.result.manifest.canonical_json())
    plan = faults.FaultPlan(fault, 2)
    faults.after_commit(
        plan, store, honest.result.manifest_address, [c.address for c in honest.result.checkpoints]
    )
    session = TrainingSession(honest.spec, load_dataset(honest.spec, store))
    f = audit_segment(
        session, store, honest.result.manifest, job_id=JOB_ID, attempt=ATTEMPT, segment=missing
    )
    assert (f.fault, f.fault_checkpoint) == (TraceFault.CHECKPOINT_MISSING, missing)


def test_fault_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.ENV, raising=False)
    assert faults.active() is None
    monkeypatch.setenv(faults.ENV, "silent")
    assert faults.active() == faults.FaultPlan(faults.Fault.SILENT, 1)
    assert not faults.answers_disputes(faults.active())
    monkeypatch.setenv(faults.ENV, "nonsense")
    with pytest.raises(ConfigError, match="unknown fault"):
        faults.active()


def test_an_unreachable_store_is_no_verdict(honest: Trained, tmp_path: Path) -> None:
    """A verifier whose own store is down (the API unreachable) neither finds a checkpoint
    "missing" nor votes a blob "unavailable": that would challenge or outvote an honest solver
    over a fault of its own. A store that answers without the blob is a verdict."""
    manifest, address = honest.result.manifest, honest.result.checkpoints[1].address
    salt = b"\x07" * 32
    down = ApiBlobStore(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(StorageUnavailableError, match="unreachable"):
        fetch_checkpoint(honest.spec, down, manifest, 1)
    with pytest.raises(StorageUnavailableError):
        stored_blob_digest(down, address, salt)

    empty = LocalBlobStore(tmp_path)
    with pytest.raises(TraceFaultError) as missing:
        fetch_checkpoint(honest.spec, empty, manifest, 1)
    assert (missing.value.fault, missing.value.checkpoint) == (TraceFault.CHECKPOINT_MISSING, 1)
    assert stored_blob_digest(empty, address, salt) == UNAVAILABLE
    assert stored_blob_digest(honest.store, address, salt) == blob_digest(
        salt, honest.store.get(address)
    )
