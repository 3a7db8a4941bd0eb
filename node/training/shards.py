"""Token-shard datasets (format ``token-shards``): a JSON manifest naming raw token shards.

A dataset too large for one blob is a *dataset manifest* blob (canonical JSON: keys sorted, no
whitespace) listing content-addressed shards. Each shard is raw little-endian ``uint16`` (when the
vocabulary fits) or ``uint32`` token ids, no header, so a shard is read by byte range without
parsing. Documents are separated by the tokenizer's EOS id in the stream. The last
``validation_tokens`` tokens of the stream (starting at a document boundary) are held out: training
windows never touch them, validation loss is measured on them.

Training never loads the dataset whole. ``open_shards`` checks each shard once, streaming (size,
SHA-256, largest id), then ``ShardReader.read`` serves windows with ``os.pread`` from the local blob
files, so peak memory depends on the batch, not on the dataset. The windows are a pure function of
the manifest and the seeded offsets: equal on every machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from node.errors import CrowdtrainError, SpecError
from node.storage import BlobStore, LocalBlobStore, validate_address

MANIFEST_FORMAT = "token-shards"
DTYPES: dict[str, np.dtype[Any]] = {"uint16": np.dtype("<u2"), "uint32": np.dtype("<u4")}
_CHUNK = 1 << 20
SHARD_CACHE_ENV = "CROWDTRAIN_SHARD_CACHE"


def dtype_for(vocab_size: int) -> str:
    """``uint16`` when every id fits, else ``uint32``."""
    return "uint16" if vocab_size <= 1 << 16 else "uint32"


@dataclass(frozen=True)
class ShardRef:
    address: str
    tokens: int


@dataclass(frozen=True)
class DatasetManifest:
    """What a ``token-shards`` dataset is: shards, dtype, tokenizer, boundaries and the split."""

    name: str
    dtype: str
    vocab_size: int
    eos_id: int
    documents: int
    validation_tokens: int
    shards: tuple[ShardRef, ...]
    tokenizer: dict[str, Any]

    @property
    def total_tokens(self) -> int:
        return sum(s.tokens for s in self.shards)

    @property
    def train_tokens(self) -> int:
        return self.total_tokens - self.validation_tokens

    @property
    def itemsize(self) -> int:
        return int(DTYPES[self.dtype].itemsize)

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "dtype": self.dtype,
            "eos_id": self.eos_id,
            "format": MANIFEST_FORMAT,
            "name": self.name,
            "shards": [{"address": s.address, "tokens": s.tokens} for s in self.shards],
            "tokenizer": self.tokenizer,
            "tokens": self.total_tokens,
            "validation": {"tokens": self.validation_tokens},
            "version": 1,
            "vocab_size": self.vocab_size,
        }

    def canonical_json(self) -> bytes:
        return json.dumps(
            self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")


def _int(data: dict[str, Any], key: str, what: str, low: int = 0) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise SpecError(f"{what}: field {key!r} must be an integer >= {low}, got {value!r}")
    return value


def parse_manifest(blob: bytes, what: str) -> DatasetManifest:
    """A dataset manifest from its blob; SpecError naming the first thing wrong with it."""
    try:
        data = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting: RecursionError
        raise SpecError(f"{what} is not a {MANIFEST_FORMAT} manifest (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise SpecError(f"{what} is not a {MANIFEST_FORMAT} manifest (no format field)")
    if data.get("version") != 1:
        raise SpecError(f"{what}: unsupported manifest version {data.get('version')!r}")
    dtype = data.get("dtype")
    if dtype not in DTYPES:
        raise SpecError(f"{what}: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    raw_shards = data.get("shards")
    if not isinstance(raw_shards, list) or not raw_shards:
        raise SpecError(f"{what}: 'shards' must be a non-empty list")
    shards = []
    for i, item in enumerate(raw_shards):
        if not isinstance(item, dict):
            raise SpecError(f"{what}: shard {i} must be an object")
        try:
            address = validate_address(item.get("address"))  # type: ignore[arg-type]
        except CrowdtrainError as err:
            raise SpecError(f"{what}: shard {i}: {err}") from None
        shards.append(ShardRef(address, _int(item, "tokens", f"{what}: shard {i}", 1)))
    validation = data.get("validation")
    if not isinstance(validation, dict):
        raise SpecError(f"{what}: 'validation' must be an object")
    tokenizer = data.get("tokenizer")
    if not isinstance(tokenizer, dict):
        raise SpecError(f"{what}: 'tokenizer' must be an object")
    manifest = DatasetManifest(
        name=str(data.get("name", "")),
        dtype=dtype,
        vocab_size=_int(data, "vocab_size", what, 1),
        eos_id=_int(data, "eos_id", what),
        documents=_int(data, "documents", what, 1),
        validation_tokens=_int(validation, "tokens", f"{what}: validation"),
        shards=tuple(shards),
        tokenizer=tokenizer,
    )
    if _int(data, "tokens", what) != manifest.total_tokens:
        raise SpecError(f"{what}: 'tokens' {data['tokens']} != sum of shard tokens")
    if manifest.validation_tokens >= manifest.total_tokens:
        raise SpecError(f"{what}: validation split holds every token, none left to train on")
    if manifest.eos_id >= manifest.vocab_size:
        raise SpecError(f"{what}: eos_id {manifest.eos_id} >= vocab_size {manifest.vocab_size}")
    if manifest.vocab_size > 1 << 16 and dtype == "uint16":
        raise SpecError(f"{what}: vocab_size {manifest.vocab_size} does not fit uint16")
    if manifest.canonical_json() != blob:
        raise SpecError(f"{what}: manifest is not in canonical JSON form")
    return manifest


def manifest_blobs(manifest: DatasetManifest) -> list[str]:
    """Every blob the dataset needs besides its manifest: the shards, then the tokenizer files."""
    files = manifest.tokenizer.get("files", {})
    extra = [v for _, v in sorted(files.items())] if isinstance(files, dict) else []
    return [s.address for s in manifest.shards] + [str(v) for v in extra]


def dataset_blobs(store: BlobStore, address: str, dataset_format: str) -> list[str]:
    """Every blob a dataset is made of, in digest order: the dataset blob itself, then for a
    ``token-shards`` manifest its shards and tokenizer files. CrowdtrainError when the manifest is
    missing, corrupt or malformed (the dataset is then unusable as published)."""
    if dataset_format != MANIFEST_FORMAT:
        return [address]
    manifest = parse_manifest(store.get(address), f"dataset {address}")
    return [address, *manifest_blobs(manifest)]


def _shard_cache() -> LocalBlobStore:
    root = os.environ.get(SHARD_CACHE_ENV) or os.path.join(
        tempfile.gettempdir(), "crowdtrain-shard-cache"
    )
    return LocalBlobStore(root)


def _local_path(store: BlobStore, address: str, what: str) -> Path:
    """A local file holding ``address``: the store's own file, or a cached download (one shard in
    memory at a time, never the dataset)."""
    if isinstance(store, LocalBlobStore):
        path = store.path(address)
        if not path.is_file():
            raise SpecError(f"{what} {address} is not in the blob store {store!r}")
        return path
    cache = _shard_cache()
    if not cache.has(address):
        try:
            cache.put(store.get(address))
        except CrowdtrainError as err:
            raise SpecError(f"{what}: {err}") from None
    return cache.path(address)


def _check_shard(path: Path, shard: ShardRef, manifest: DatasetManifest, what: str) -> int:
    """Size, SHA-256 and the largest id of one shard, streamed; SpecError when it is not the
    shard the manifest names."""
    expected = shard.tokens * manifest.itemsize
    size = path.stat().st_size
    if size != expected:
        raise SpecError(
            f"{what} {shard.address} is truncated or oversized: {size} bytes, manifest says "
            f"{shard.tokens} {manifest.dtype} tokens ({expected} bytes)"
        )
    digest, largest = hashlib.sha256(), 0
    step = _CHUNK - _CHUNK % manifest.itemsize
    with path.open("rb") as handle:
        while chunk := handle.read(step):
            digest.update(chunk)
            largest = max(largest, int(np.frombuffer(chunk, DTYPES[manifest.dtype]).max()))
    if "sha256:" + digest.hexdigest() != shard.address:
        raise SpecError(f"{what} {shard.address} is corrupt: its bytes hash elsewhere")
    return largest


class ShardReader:
    """Token ranges of a manifest's stream, read by byte range from verified local shard files."""

    def __init__(self, manifest: DatasetManifest, paths: list[Path]) -> None:
        self.manifest = manifest
        self.paths = paths
        self.dtype = DTYPES[manifest.dtype]
        self.starts = [0]
        for shard in manifest.shards:
            self.starts.append(self.starts[-1] + shard.tokens)

    def read(self, start: int, count: int) -> np.ndarray:
        """Tokens ``[start, start + count)`` of the stream as int64 (may span shards)."""
        if start < 0 or start + count > self.starts[-1]:
            raise SpecError(f"token range [{start}, {start + count}) outside the dataset")
        out = np.empty(count, dtype=np.int64)
        done = 0
        while done < count:
            i = bisect_right(self.starts, start + done) - 1
            offset = start + done - self.starts[i]
            n = min(count - done, self.starts[i + 1] - self.starts[i] - offset)
            fd = os.open(self.paths[i], os.O_RDONLY)
            try:
                raw = os.pread(fd, n * self.dtype.itemsize, offset * self.dtype.itemsize)
            finally:
                os.close(fd)
            if len(raw) != n * self.dtype.itemsize:
                raise SpecError(f"dataset shard {self.manifest.shards[i].address} is truncated")
            out[done : done + n] = np.frombuffer(raw, self.dtype)
            done += n
        return out


def open_shards(
    manifest: DatasetManifest, store: BlobStore, *, vocab_limit: int, what: str
) -> ShardReader:
    """Check every shard once (present, right size and hash, ids < ``vocab_limit``) and return a
    reader over them; SpecError naming the first bad shard."""
    paths = []
    for i, shard in enumerate(manifest.shards):
        path = _local_path(store, shard.address, f"{what}: shard {i}")
        largest = _check_shard(path, shard, manifest, f"{what}: shard {i}")
        if largest >= vocab_limit:
            raise SpecError(
                f"{what}: shard {i} holds token id {largest} >= model.vocab_size {vocab_limit}"
            )
        paths.append(path)
    return ShardReader(manifest, paths)
