"""A tiny repro-v1 job (12 steps, K = 4) and helpers shared by the verifier tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node.storage import LocalBlobStore, address_of
from node.training.data import digits_blob
from node.training.spec import JobSpec, parse_spec
from node.training.trainer import TrainResult, train

JOB_ID, ATTEMPT = 5, 1


@dataclass(frozen=True)
class Trained:
    spec: JobSpec
    store: LocalBlobStore
    result: TrainResult
    work_dir: Path


def tiny_spec(digits: bytes, **changes: object) -> JobSpec:
    """A 12-step MLP job, K = 4, on the digits dataset."""
    data: dict[str, object] = {
        "model": {"architecture": "mlp", "hidden": [16]},
        "dataset": {"address": address_of(digits), "format": "classification"},
        "optimizer": {"name": "adamw", "lr": 0.01, "grad_clip": 1.0, "weight_decay": 0.01},
        "batch_size": 16,
        "steps": 12,
        "checkpoint_every": 4,
        "seed": 7,
        "runtime": "repro-v1",
    }
    data.update(changes)
    return parse_spec(data)


def train_tiny(root: Path, **changes: object) -> Trained:
    digits = digits_blob()
    store = LocalBlobStore(root / "blobs")
    store.put(digits)
    spec = tiny_spec(digits, **changes)
    store.put(spec.canonical_json())
    work = root / "work"
    result = train(spec, store=store, work_dir=work, job_id=JOB_ID, attempt=ATTEMPT, threads=1)
    return Trained(spec, store, result, work)
