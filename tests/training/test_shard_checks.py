"""Shard checks follow what a run reads: a shard is fetched, sized and hashed the first time a read
touches it, and a file recorded as checked in the private shard cache (unchanged since) is not
hashed again; a file changed since, truncated or tampered with, is still caught."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from node.errors import SpecError
from node.storage import LocalBlobStore
from node.training import shards
from node.training.data import ShardedTokenData, load_dataset
from node.training.shards import DatasetManifest, ShardReader, open_shards

from .shard_kit import gpt_spec, prepare, write_docs

SHARD_TOKENS = 500
SHARD_BYTES = SHARD_TOKENS * 2  # uint16


class FetchedStore:
    """A blob store that is not a local folder (as the marketplace API is): shards are fetched
    into the shard cache before training reads them."""

    def __init__(self, inner: LocalBlobStore) -> None:
        self.inner = inner
        self.fetched: list[str] = []

    def put(self, data: bytes) -> str:
        return self.inner.put(data)

    def get(self, address: str) -> bytes:
        self.fetched.append(address)
        return self.inner.get(address)

    def has(self, address: str) -> bool:
        return self.inner.has(address)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(shards.SHARD_CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[LocalBlobStore, DatasetManifest]:
    store = LocalBlobStore(tmp_path / "blobs")
    docs = [f"Document {i}: the miller counted {i} sacks of grain.\n" * 40 for i in range(8)]
    result = prepare(store, write_docs(tmp_path / "in", docs), shard_tokens=SHARD_TOKENS)
    assert len(result.manifest.shards) >= 20
    return store, result.manifest


def _open(store: object, manifest: DatasetManifest) -> ShardReader:
    return open_shards(manifest, store, vocab_limit=257, what="dataset")  # type: ignore[arg-type]


def _settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let files written a moment ago be recorded (the real rule waits 2 s after a change)."""
    monkeypatch.setattr(shards, "_RACY_NS", 0)


def test_one_window_hashes_one_shard_and_a_second_open_none(
    cache: Path, dataset: tuple[LocalBlobStore, DatasetManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, manifest = dataset
    _settle(monkeypatch)
    reader = _open(store, manifest)
    assert reader.hashed_bytes == 0  # opening reads no shard
    window = reader.read(3 * SHARD_TOKENS + 10, 17)
    assert reader.hashed_bytes == SHARD_BYTES  # the shard under the window, no other
    assert window.tolist() == reader.read(3 * SHARD_TOKENS + 10, 17).tolist()
    assert reader.hashed_bytes == SHARD_BYTES  # checked once per reader
    again = _open(store, manifest)  # another session, same machine
    assert again.read(3 * SHARD_TOKENS + 10, 17).tolist() == window.tolist()
    assert again.hashed_bytes == 0  # recorded as checked, file unchanged
    again.read(5 * SHARD_TOKENS - 3, 6)  # spans shards 4 and 5
    assert again.hashed_bytes == 2 * SHARD_BYTES


def test_a_fresh_file_is_checked_again_until_it_settles(
    cache: Path, dataset: tuple[LocalBlobStore, DatasetManifest]
) -> None:
    """A file changed within the file clock's last tick may change again unseen: not recorded."""
    store, manifest = dataset
    for _ in range(2):
        reader = _open(store, manifest)
        reader.read(0, 10)
        assert reader.hashed_bytes == SHARD_BYTES


def test_a_tampered_cached_shard_is_caught(
    cache: Path, dataset: tuple[LocalBlobStore, DatasetManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    local, manifest = dataset
    _settle(monkeypatch)
    store = FetchedStore(local)
    reader = _open(store, manifest)
    assert store.fetched == []  # nothing fetched before a read needs it
    reader.read(2 * SHARD_TOKENS, 8)
    assert store.fetched == [manifest.shards[2].address]
    assert reader.hashed_bytes == SHARD_BYTES  # hashed once, as it was fetched
    cached = cache / manifest.shards[2].address.removeprefix("sha256:")
    assert _open(store, manifest).read(2 * SHARD_TOKENS, 8) is not None
    assert store.fetched == [manifest.shards[2].address]  # served from the cache
    time.sleep(0.05)  # past the file clock's tick: the change shows in the file's state
    data = cached.read_bytes()
    with cached.open("r+b") as handle:  # in place, same size
        handle.write(bytes([data[0] ^ 1]))
    with pytest.raises(SpecError, match=r"dataset: shard 2 sha256:[0-9a-f]+ is corrupt"):
        _open(store, manifest).read(2 * SHARD_TOKENS, 8)
    cached.write_bytes(data[:-4])
    with pytest.raises(
        SpecError, match=r"shard 2 sha256:[0-9a-f]+ is truncated or oversized: 996 bytes"
    ):
        _open(store, manifest).read(2 * SHARD_TOKENS, 8)


def test_a_truncated_local_shard_is_refused_at_open(
    cache: Path, dataset: tuple[LocalBlobStore, DatasetManifest]
) -> None:
    store, manifest = dataset
    path = store.path(manifest.shards[7].address)
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(SpecError, match=r"shard 7 sha256:[0-9a-f]+ is truncated or oversized"):
        _open(store, manifest)


def test_records_in_a_shared_folder_are_not_trusted(
    cache: Path, dataset: tuple[LocalBlobStore, DatasetManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, manifest = dataset
    _settle(monkeypatch)
    _open(store, manifest).read(0, 10)
    for shared in (cache / "verified", cache):
        shared.chmod(0o777)  # anyone could write a record (or swap the folder) now
        reader = _open(store, manifest)
        reader.read(0, 10)
        assert reader.hashed_bytes == SHARD_BYTES
        shared.chmod(0o700)
    reader = _open(store, manifest)
    reader.read(0, 10)
    assert reader.hashed_bytes == 0  # private again: the record stands


def test_training_batches_check_only_the_shards_they_read(
    cache: Path, dataset: tuple[LocalBlobStore, DatasetManifest]
) -> None:
    store, manifest = dataset
    address = store.put(manifest.canonical_json())
    data = load_dataset(gpt_spec(address), store)
    assert isinstance(data, ShardedTokenData)
    from node.runtime.rng import RngKey

    data.batch(RngKey.from_seed(0), 0, 0, 2)
    assert 0 < data.reader.hashed_bytes <= 4 * SHARD_BYTES  # two windows: at most four shards
