"""``data prepare`` for your own text: documents → token shards + a dataset manifest.

Sources are read as documents: a ``--text`` file is one document (tokenized in chunks of whole
lines, ~1 MiB, eight at a time so the tokenizer encodes them in parallel; a large file is never
held in memory), a ``--jsonl`` line's field or a ``--parquet`` row's column is one (tokenized up to
256 documents or ~1 MiB at a time). Each document is followed by the EOS id. Shards are staged in a
temporary folder and only stored once every input has been read, so bad input (empty, not UTF-8,
binary, a missing field) stores nothing; the manifest goes last and its address is the result.
The same inputs and tokenizer give the same bytes, hence the same address, on every run.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from node.errors import DataError
from node.storage import BlobStore
from node.training.shards import DTYPES, DatasetManifest, ShardRef, dtype_for
from node.training.text_tokenizer import TextTokenizer

DEFAULT_SHARD_TOKENS = 1 << 24
_TEXT_CHUNK = 1 << 20
_TEXT_BATCH = 8
_BATCH_DOCS = 256


@dataclass(frozen=True)
class Source:
    """One input: ``kind`` is ``text``, ``jsonl`` or ``parquet``; ``field`` names the JSON field or
    parquet column."""

    kind: str
    path: Path
    field: str | None = None


@dataclass(frozen=True)
class PrepareResult:
    address: str
    manifest: DatasetManifest
    bytes_in: int
    seconds: float


def _decode(raw: bytes, where: str, offset: int) -> str:
    nul = raw.find(b"\0")
    if nul >= 0:
        raise DataError(f"{where} looks binary: NUL byte at offset {offset + nul}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{where} is not UTF-8 text: bad byte at offset {offset + err.start}"
        ) from None


def _text_docs(path: Path) -> Iterator[tuple[list[str], int]]:
    """One document in whole-line chunks, ``_TEXT_BATCH`` chunks at a time: (pieces, bytes read).

    The chunk boundaries are the token stream's definition (a tokenizer may encode text differently
    across a cut), so they stay where they are; batching chunks only lets ``encode_batch`` run
    them in parallel, one chunk per string as before: the same ids, the same dataset address."""
    offset = 0
    pieces: list[str] = []
    size = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_TEXT_CHUNK)
            if not chunk:
                break
            if not chunk.endswith(b"\n"):
                chunk += handle.readline()
            pieces.append(_decode(chunk, str(path), offset).replace("\r\n", "\n"))
            offset += len(chunk)
            size += len(chunk)
            if len(pieces) == _TEXT_BATCH:
                yield pieces, size
                pieces, size = [], 0
    if pieces:
        yield pieces, size


def _batched(docs: Iterator[tuple[str, int]]) -> Iterator[tuple[list[str], int]]:
    """Documents in batches of at most ``_BATCH_DOCS`` documents or ``_TEXT_CHUNK`` bytes (so
    ``encode_batch`` runs many at once, in parallel, and memory stays bounded): (texts, bytes)."""
    texts: list[str] = []
    size = 0
    for text, n in docs:
        texts.append(text)
        size += n
        if len(texts) == _BATCH_DOCS or size >= _TEXT_CHUNK:
            yield texts, size
            texts, size = [], 0
    if texts:
        yield texts, size


def _jsonl_docs(path: Path, name: str) -> Iterator[tuple[str, int]]:
    with path.open("rb") as handle:
        offset = 0
        for number, line in enumerate(handle, 1):
            where = f"{path} line {number}"
            text = _decode(line, where, offset)
            offset += len(line)
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError:
                raise DataError(f"{where} is not JSON") from None
            if not isinstance(record, dict) or name not in record:
                raise DataError(f"{where} has no field {name!r}")
            value = record[name]
            if not isinstance(value, str):
                raise DataError(f"{where}: field {name!r} is {type(value).__name__}, not text")
            yield value, len(line)


def _parquet_docs(path: Path, column: str) -> Iterator[tuple[str, int]]:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise DataError(
            "--parquet needs pyarrow, which is not installed (pip install pyarrow)"
        ) from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow's errors share no base we could name without it
        raise DataError(f"{path} is not a parquet file: {err}") from None
    if column not in parquet.schema_arrow.names:
        raise DataError(
            f"{path} has no column {column!r} (has: {', '.join(parquet.schema_arrow.names)})"
        )
    row = 0
    for batch in parquet.iter_batches(columns=[column]):
        for value in batch.column(0).to_pylist():
            if not isinstance(value, str):
                raise DataError(f"{path} row {row}: column {column!r} is not text")
            yield value, len(value.encode("utf-8"))
            row += 1


def _documents(source: Source) -> Iterator[tuple[list[str], int]]:
    if not source.path.is_file():
        raise DataError(f"cannot read {source.path}: no such file")
    if source.kind == "text":
        return _text_docs(source.path)
    assert source.field is not None
    if source.kind == "jsonl":
        return _batched(_jsonl_docs(source.path, source.field))
    return _batched(_parquet_docs(source.path, source.field))


class _ShardWriter:
    """Fixed-size shards in a staging folder (a shard is written once it is full)."""

    def __init__(self, folder: Path, dtype: str, shard_tokens: int) -> None:
        self.folder, self.dtype, self.size = folder, DTYPES[dtype], shard_tokens
        self.buffer = np.empty(shard_tokens, dtype=self.dtype)
        self.fill = 0
        self.files: list[tuple[Path, int]] = []

    def add(self, ids: np.ndarray | list[int]) -> None:
        data = np.asarray(ids, dtype=np.int64)
        while data.size:
            n = min(data.size, self.size - self.fill)
            self.buffer[self.fill : self.fill + n] = data[:n]
            self.fill += n
            data = data[n:]
            if self.fill == self.size:
                self.flush()

    def flush(self) -> None:
        if self.fill:
            path = self.folder / f"{len(self.files):06d}.bin"
            path.write_bytes(self.buffer[: self.fill].tobytes())
            self.files.append((path, self.fill))
            self.fill = 0


def prepare_dataset(
    sources: list[Source],
    tokenizer: TextTokenizer,
    store: BlobStore,
    *,
    name: str,
    validation_fraction: float = 0.01,
    shard_tokens: int = DEFAULT_SHARD_TOKENS,
    progress: bool = True,
) -> PrepareResult:
    """Tokenize ``sources``, store the shards, tokenizer files and manifest; DataError (nothing
    stored) when an input is unusable."""
    if not sources:
        raise DataError(
            "no input: give --text FILE..., --jsonl FILE --field F or --parquet FILE --column C"
        )
    if not 0.0 <= validation_fraction < 1.0:
        raise DataError(f"--validation-fraction {validation_fraction} must be in [0, 1)")
    started = time.perf_counter()
    dtype = dtype_for(tokenizer.vocab_size)
    total_bytes = sum(s.path.stat().st_size for s in sources if s.path.is_file())
    documents = tokens = bytes_in = 0
    with tempfile.TemporaryDirectory(prefix="crowdtrain-prepare-") as staging:
        writer = _ShardWriter(Path(staging), dtype, shard_tokens)
        bar = tqdm(total=total_bytes, unit="B", unit_scale=True, disable=not progress, desc=name)
        for source in sources:
            doc_tokens = 0
            for pieces, size in _documents(source):
                for ids in tokenizer.encode_batch(pieces):
                    writer.add(ids)
                    doc_tokens += len(ids)
                    if source.kind != "text":  # each piece is a document
                        writer.add([tokenizer.eos_id])
                        documents, tokens = documents + 1, tokens + doc_tokens + 1
                        doc_tokens = 0
                bytes_in += size
                bar.update(size)
                rate = (tokens + doc_tokens) / max(time.perf_counter() - started, 1e-9)
                bar.set_postfix_str(f"{rate:,.0f} tokens/s", refresh=False)
            if source.kind == "text" and doc_tokens:
                writer.add([tokenizer.eos_id])
                documents, tokens = documents + 1, tokens + doc_tokens + 1
        bar.close()
        writer.flush()
        if documents == 0:
            names = ", ".join(str(s.path) for s in sources)
            raise DataError(f"empty input: no text in {names}")
        validation = int(tokens * validation_fraction)
        shards = [ShardRef(store.put(path.read_bytes()), count) for path, count in writer.files]
    tokenizer_json: dict[str, object] = {"kind": tokenizer.kind}
    if tokenizer.files:
        files = {n: store.put(raw) for n, raw in sorted(tokenizer.files.items())}
        tokenizer_json.update(address=files["tokenizer.json"], files=files)
    manifest = DatasetManifest(
        name=name,
        dtype=dtype,
        vocab_size=tokenizer.vocab_size,
        eos_id=tokenizer.eos_id,
        documents=documents,
        validation_tokens=validation,
        shards=tuple(shards),
        tokenizer=tokenizer_json,
    )
    address = store.put(manifest.canonical_json())
    return PrepareResult(address, manifest, bytes_in, time.perf_counter() - started)
