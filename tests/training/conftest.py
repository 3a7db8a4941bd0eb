"""Small specs and a blob store holding the digits dataset, shared by the training tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node.storage import LocalBlobStore, address_of
from node.training.data import digits_blob, text_blob
from node.training.spec import JobSpec, parse_spec


@pytest.fixture(scope="session")
def digits() -> bytes:
    return digits_blob()


@pytest.fixture(scope="session")
def text() -> bytes:
    return text_blob()


@pytest.fixture
def store(tmp_path: Path, digits: bytes, text: bytes) -> LocalBlobStore:
    s = LocalBlobStore(tmp_path / "blobs")
    s.put(digits)
    s.put(text)
    return s


def tiny_spec(digits: bytes, **changes: Any) -> JobSpec:
    """A 12-step MLP job, K = 4: trains in well under a second."""
    data: dict[str, Any] = {
        "model": {"architecture": "mlp", "hidden": [16]},
        "dataset": {"address": address_of(digits), "format": "classification"},
        "optimizer": {"name": "adamw", "lr": 0.01, "grad_clip": 1.0, "weight_decay": 0.01},
        "batch_size": 16,
        "steps": 12,
        "checkpoint_every": 4,
        "seed": 7,
        "runtime": "native",
    }
    data.update(changes)
    return parse_spec(data)


@pytest.fixture
def spec(digits: bytes) -> JobSpec:
    return tiny_spec(digits)
