"""LocalBlobStore: content addressing, verification on read, address validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import Settings
from node.errors import StorageError
from node.storage import BlobStore, LocalBlobStore, address_of, open_store
from node.storage.api import ApiBlobStore


def test_put_get_roundtrip_and_idempotent(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    address = store.put(b"hello")
    assert address == address_of(b"hello") and address.startswith("sha256:")
    assert store.put(b"hello") == address
    assert store.has(address) and store.get(address) == b"hello"
    assert isinstance(store, BlobStore)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_corrupt_blob_is_reported_with_its_address(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    address = store.put(b"original bytes")
    store.path(address).write_bytes(b"tampered bytes")
    with pytest.raises(StorageError, match=f"blob {address} is corrupt"):
        store.get(address)


def test_missing_blob(tmp_path: Path) -> None:
    address = address_of(b"nothing")
    with pytest.raises(StorageError, match="not found"):
        LocalBlobStore(tmp_path).get(address)


@pytest.mark.parametrize(
    "bad", ["sha256:abc", "md5:" + "0" * 64, "sha256:" + "G" * 64, "sha256:../" + "0" * 61, ""]
)
def test_bad_address_rejected(tmp_path: Path, bad: str) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(StorageError, match="invalid blob address"):
        store.get(bad)
    with pytest.raises(StorageError):
        store.has(bad)


def test_open_store(tmp_path: Path) -> None:
    store = open_store(Settings(blob_dir=tmp_path))
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path
    remote = open_store(Settings(blob_dir=tmp_path, api_url="http://127.0.0.1:1"))
    assert isinstance(remote, ApiBlobStore), (
        "CROWDTRAIN_API_URL selects the marketplace API backend"
    )
