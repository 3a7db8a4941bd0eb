"""A blob store holding the example text dataset, for the Hugging Face tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.storage import LocalBlobStore
from node.training.data import text_blob


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    s = LocalBlobStore(tmp_path / "blobs")
    s.put(text_blob())
    return s
