"""Token-shard datasets (format ``token-shards``): a JSON manifest naming raw token shards.

A dataset too large for one blob is a *dataset manifest* blob (canonical JSON: keys sorted, no
whitespace) listing content-addressed shards. Each shard is raw little-endian ``uint16`` (when the
vocabulary fits) or ``uint32`` token ids, no header, so a shard is read by byte range without
parsing. Documents are separated by the tokenizer's EOS id in the stream. The last
``validation_tokens`` tokens of the stream (starting at a document boundary) are held out: training
windows never touch them, validation loss is measured on them.

Training never loads the dataset whole. ``ShardReader.read`` serves windows with ``os.pread`` from
local shard files, so peak memory depends on the batch, not on the dataset. The windows are a pure
function of the manifest and the seeded offsets: equal on every machine.

Checks follow the reads: ``open_shards`` reads no shard (a local store's shards are only sized); a
shard is fetched (into the private shard cache, when the store is not a local folder: ``get``
verifies the bytes, the cache writes them atomically under their hash), sized and hashed, with its
largest id, the first time a read touches it, so a verifier replaying one segment checks the
shards under its windows only. A full check is recorded in ``<cache>/verified`` with the file's
state (device, inode, size, mtime, ctime): a later open trusts the record while the state is
unchanged. Rewriting or replacing a file changes its ctime (unprivileged code cannot set it back),
so a tampered or truncated file is hashed again and caught; a file changed within the last 2 s is
not recorded (the file clock is coarse: a change in the same tick could go unseen). Records are
neither written nor trusted unless the folder is private (ours, not group/other writable). What
this does not catch: bit rot that leaves the file's state alone, and a local writer racing a read
(someone who can write our cache can also change our code).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from bisect import bisect_right
from dataclasses import astuple, dataclass
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


def _private_folder(root: Path) -> bool:
    """Create ``root`` (mode 0700) if needed; True when it is ours alone (owned by this user, no
    group or other write), the condition for trusting what it records."""
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = root.stat()
    except OSError:
        return False
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _shard_cache() -> LocalBlobStore:
    root = os.environ.get(SHARD_CACHE_ENV) or os.path.join(
        tempfile.gettempdir(), f"crowdtrain-shard-cache-{os.geteuid()}"
    )
    return LocalBlobStore(root)


@dataclass(frozen=True)
class _FileState:
    """What identifies one version of a file without reading it. Rewriting the file in place, or
    replacing it, changes its ctime (which no unprivileged call can set back), its inode or size."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> _FileState:
        st = path.stat()
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# A file changed less than this long ago may change again within the same timestamp tick (the
# kernel's file clock is coarse) and keep its state: such a file is checked but not recorded.
_RACY_NS = 2_000_000_000


class _ShardChecks:
    """Records, in the private shard cache (``<cache>/verified``), that the file at a path, in a
    given ``_FileState``, held exactly shard ``address`` and its largest id: a later open, in this
    process or another, trusts the record instead of hashing the file again, as long as the file's
    state is unchanged. Nothing is recorded or trusted unless the cache and its ``verified`` folder
    are private (ours, not group/other writable)."""

    def __init__(self, cache: Path) -> None:
        records = cache / "verified"
        private = _private_folder(cache) and _private_folder(records)
        self.root: Path | None = records if private else None

    def _record(self, path: Path, address: str) -> Path | None:
        if self.root is None:
            return None
        key = hashlib.sha256(f"{address}\0{path.resolve()}".encode()).hexdigest()
        return self.root / key

    def largest(self, path: Path, address: str, state: _FileState) -> int | None:
        """The recorded largest id of this file in this state; None when not recorded."""
        record = self._record(path, address)
        if record is None:
            return None
        try:
            data = json.loads(record.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("state") != list(astuple(state)):
            return None
        largest = data.get("largest")
        return largest if isinstance(largest, int) else None

    def remember(self, path: Path, address: str, state: _FileState, largest: int) -> None:
        """Record a full check of ``path`` (in ``state``, taken before it), written atomically."""
        record = self._record(path, address)
        if record is None or _FileState.of(path) != state:
            return
        if time.time_ns() - max(state.mtime_ns, state.ctime_ns) < _RACY_NS:
            return
        body = json.dumps({"largest": largest, "state": list(astuple(state))}).encode()
        fd, tmp = tempfile.mkstemp(dir=record.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            os.replace(tmp, record)
        except OSError:
            Path(tmp).unlink(missing_ok=True)  # a record is an optimisation: carry on without


def _hash_shard(path: Path, shard: ShardRef, manifest: DatasetManifest, what: str) -> int:
    """SHA-256 and the largest id of one shard, streamed; SpecError when it is not the shard the
    manifest names."""
    digest, largest = hashlib.sha256(), 0
    step = _CHUNK - _CHUNK % manifest.itemsize
    with path.open("rb") as handle:
        while chunk := handle.read(step):
            digest.update(chunk)
            largest = max(largest, int(np.frombuffer(chunk, DTYPES[manifest.dtype]).max()))
    if "sha256:" + digest.hexdigest() != shard.address:
        raise SpecError(f"{what} {shard.address} is corrupt: its bytes hash elsewhere")
    return largest


def _check_size(state: _FileState, shard: ShardRef, manifest: DatasetManifest, what: str) -> None:
    expected = shard.tokens * manifest.itemsize
    if state.size != expected:
        raise SpecError(
            f"{what} {shard.address} is truncated or oversized: {state.size} bytes, manifest "
            f"says {shard.tokens} {manifest.dtype} tokens ({expected} bytes)"
        )


class ShardReader:
    """Token ranges of a manifest's stream, read by byte range from local shard files, each shard
    checked (fetched, sized, hashed, ids below the model's vocabulary) the first time a read
    touches it, never before: a run that reads a few windows checks the shards under them only.

    ``hashed_bytes`` counts the bytes hashed so far (a shard recorded as checked in the private
    cache, unchanged since, is not hashed again)."""

    def __init__(
        self, manifest: DatasetManifest, store: BlobStore, *, vocab_limit: int, what: str
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.vocab_limit = vocab_limit
        self.what = what
        self.dtype = DTYPES[manifest.dtype]
        self.starts = [0]
        for shard in manifest.shards:
            self.starts.append(self.starts[-1] + shard.tokens)
        cache = _shard_cache()
        self.cache = cache
        self.checks = _ShardChecks(cache.root)
        self.paths: list[Path | None] = [None] * len(manifest.shards)
        self.hashed_bytes = 0
        self.fetched: dict[int, int] = {}  # largest id of shards fetched, not yet checked
        if isinstance(store, LocalBlobStore):  # sizes are free to check up front
            for i, shard in enumerate(manifest.shards):
                path = self._present(i)
                _check_size(_FileState.of(path), shard, manifest, self._name(i))

    def _name(self, i: int) -> str:
        return f"{self.what}: shard {i}"

    def _present(self, i: int) -> Path:
        """A local file said to hold shard ``i``: the store's own file or a cached download
        (``BlobStore.get`` checks what it fetched; one shard in memory at a time)."""
        address = self.manifest.shards[i].address
        if isinstance(self.store, LocalBlobStore):
            path = self.store.path(address)
            if not path.is_file():
                raise SpecError(
                    f"{self._name(i)} {address} is not in the blob store {self.store!r}"
                )
            return path
        if not self.cache.has(address):
            try:
                data = self.store.get(address)
                self.cache.put(data)
            except CrowdtrainError as err:
                raise SpecError(f"{self._name(i)}: {err}") from None
            self.hashed_bytes += len(data)
            shard = self.manifest.shards[i]
            if len(data) == shard.tokens * self.manifest.itemsize:  # else the size check says so
                self.fetched[i] = int(np.frombuffer(data, self.dtype).max())
        return self.cache.path(address)

    def _checked(self, i: int) -> Path:
        """Shard ``i``'s file once it is known to be the manifest's shard: right size, right hash
        (or recorded as hashed in this very state) and every id below the vocabulary limit."""
        path = self.paths[i]
        if path is not None:
            return path
        shard, name = self.manifest.shards[i], self._name(i)
        path = self._present(i)
        state = _FileState.of(path)
        _check_size(state, shard, self.manifest, name)
        largest = self.fetched.pop(i, None)  # ``get`` has just hashed these very bytes
        if largest is None:
            largest = self.checks.largest(path, shard.address, state)
        if largest is None:
            largest = _hash_shard(path, shard, self.manifest, name)
            self.hashed_bytes += state.size
            self.checks.remember(path, shard.address, state, largest)
        if largest >= self.vocab_limit:
            raise SpecError(
                f"{name} holds token id {largest} >= model.vocab_size {self.vocab_limit}"
            )
        self.paths[i] = path
        return path

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
            fd = os.open(self._checked(i), os.O_RDONLY)
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
    """A reader over the manifest's shards; each shard is fetched and checked (present, right size
    and hash, ids < ``vocab_limit``) when a read first touches it. Shards of a local store are
    sized here already. SpecError naming the first bad shard."""
    return ShardReader(manifest, store, vocab_limit=vocab_limit, what=what)
