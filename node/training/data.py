"""Datasets: the documented blob formats, the example builders and deterministic batching.

Formats (safetensors, written canonically by ``node.trace.tensorfile``):

* ``classification``: ``x`` float32 ``[n, features]`` and ``y`` int64 ``[n]``;
* ``tokens``: ``tokens`` int64 ``[n]`` and ``vocab`` int64 ``[V]`` (Unicode code points of a
  character-level vocabulary; token ``i`` is ``chr(vocab[i])``);
* ``token-shards``: a dataset manifest (JSON) naming raw uint16/uint32 token shards, read by range
  and never loaded whole (``node.training.shards``; built by ``crowdtrain data prepare --text…``).

Batch order is a pure function of the RNG key and the data cursor kept in the training state:
classification batches walk a per-epoch permutation (partial last batches are dropped);
language-model batches are random windows drawn with domain ``("batch", cursor)`` (for
``token-shards``, over the training part of the stream only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from node.config import REPO_ROOT
from node.errors import CrowdtrainError, SpecError, TraceError
from node.runtime import rng
from node.storage import BlobStore
from node.trace import tensorfile
from node.training.shards import (
    DatasetManifest,
    ShardReader,
    manifest_blobs,
    open_shards,
    parse_manifest,
)
from node.training.spec import CNNSpec, GPTSpec, JobSpec, LlamaSpec, MLPSpec

VALIDATION_WINDOWS = 64
"""At most this many fixed windows of the held-out split make up one validation loss."""

DEFAULT_CORPUS = REPO_ROOT / "examples" / "data" / "corpus.txt"
EXAMPLES = ("digits", "text")


def digits_blob() -> bytes:
    """scikit-learn's bundled 8x8 digits: ``x`` = pixels/16 (exact in float32), ``y`` = labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.data).to(torch.float64) / 16.0
    y = torch.from_numpy(bunch.target).to(torch.int64)
    meta = {"format": "classification", "name": "digits", "source": "sklearn.datasets.load_digits"}
    return tensorfile.encode({"x": x.to(torch.float32), "y": y}, meta)


def text_blob(corpus: Path = DEFAULT_CORPUS) -> bytes:
    """A character-level tokenization of ``corpus`` (newlines normalized to ``\\n``)."""
    text = corpus.read_bytes().decode("utf-8").replace("\r\n", "\n")
    vocab = sorted(set(text))
    index = {ch: i for i, ch in enumerate(vocab)}
    tokens = torch.tensor([index[ch] for ch in text], dtype=torch.int64)
    codepoints = torch.tensor([ord(ch) for ch in vocab], dtype=torch.int64)
    meta = {"encoding": "char", "format": "tokens", "name": corpus.stem}
    return tensorfile.encode({"tokens": tokens, "vocab": codepoints}, meta)


def example_blob(name: str) -> bytes:
    """The bytes of example dataset ``name`` (``digits`` or ``text``)."""
    if name == "digits":
        return digits_blob()
    if name == "text":
        return text_blob()
    raise SpecError(f"unknown example dataset {name!r} (known: {', '.join(EXAMPLES)})")


@dataclass
class ClassificationData:
    """``x``/``y`` pairs, served in per-epoch random order."""

    x: Tensor
    y: Tensor
    _perm: tuple[rng.RngKey, int, Tensor] | None = field(default=None, repr=False)

    def _permutation(self, key: rng.RngKey, epoch: int) -> Tensor:
        # Cached per (key, epoch): the units of a rounds job share one dataset, each with its key.
        if self._perm is None or self._perm[:2] != (key, epoch):
            self._perm = (key, epoch, rng.permutation(key, ("data-order", epoch), self.x.shape[0]))
        return self._perm[2]

    def batch(
        self, key: rng.RngKey, epoch: int, cursor: int, size: int
    ) -> tuple[Tensor, Tensor, int, int]:
        """The batch at ``(epoch, cursor)`` and the position after it."""
        if cursor + size > self.x.shape[0]:
            epoch, cursor = epoch + 1, 0
        idx = self._permutation(key, epoch)[cursor : cursor + size]
        return self.x[idx], self.y[idx], epoch, cursor + size


@dataclass
class TokenData:
    """A token stream, served as random windows of ``block_size`` (+1 for the targets)."""

    tokens: Tensor
    vocab: Tensor
    block_size: int

    def batch(
        self, key: rng.RngKey, epoch: int, cursor: int, size: int
    ) -> tuple[Tensor, Tensor, int, int]:
        high = self.tokens.shape[0] - self.block_size
        starts = rng.randint(key, ("batch", cursor), size, high)
        offsets = starts[:, None] + torch.arange(self.block_size, dtype=torch.int64)
        return self.tokens[offsets], self.tokens[offsets + 1], epoch, cursor + 1


@dataclass
class ShardedTokenData:
    """A ``token-shards`` stream: random training windows below ``train_tokens``, fixed validation
    windows above it, each read by range (memory grows with the batch, not the dataset)."""

    reader: ShardReader
    block_size: int
    train_tokens: int

    def _windows(self, starts: list[int]) -> tuple[Tensor, Tensor]:
        rows = np.stack([self.reader.read(s, self.block_size + 1) for s in starts])
        w = torch.from_numpy(rows)
        return w[:, :-1].contiguous(), w[:, 1:].contiguous()

    def batch(
        self, key: rng.RngKey, epoch: int, cursor: int, size: int
    ) -> tuple[Tensor, Tensor, int, int]:
        starts = rng.randint(key, ("batch", cursor), size, self.train_tokens - self.block_size)
        x, y = self._windows([int(s) for s in starts])
        return x, y, epoch, cursor + 1

    def validation_batches(self, size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """Consecutive non-overlapping windows from the start of the held-out split (at most
        ``VALIDATION_WINDOWS``), in batches of ``size``: the same on every machine and checkpoint."""
        width = self.block_size + 1
        total = self.reader.starts[-1]
        count = min(VALIDATION_WINDOWS, (total - self.train_tokens) // width)
        starts = [self.train_tokens + i * width for i in range(count)]
        for i in range(0, count, size):
            yield self._windows(starts[i : i + size])


Dataset = ClassificationData | TokenData | ShardedTokenData


def _token_model(spec: JobSpec) -> tuple[int, int]:
    """``(vocab_size, window)`` of a token model (the window is its training sequence length)."""
    model = spec.model
    if isinstance(model, GPTSpec | LlamaSpec):
        return model.vocab_size, model.block_size
    raise SpecError(f"model.{model.architecture} does not train on token datasets")


def token_manifest(spec: JobSpec, store: BlobStore) -> DatasetManifest:
    """The spec's ``token-shards`` manifest, checked against the model (vocabulary, window) and
    the store (every shard and tokenizer file present) without reading the shards: what
    ``job post`` checks before any token moves. SpecError naming the mismatch."""
    what = f"dataset {spec.dataset.address}"
    try:
        blob = store.get(spec.dataset.address)
    except CrowdtrainError as err:
        raise SpecError(f"{what}: {err}") from None
    manifest = parse_manifest(blob, what)
    vocab_size, window = _token_model(spec)
    if manifest.vocab_size > vocab_size:
        raise SpecError(
            f"{what}: tokenizer vocabulary of {manifest.vocab_size} does not fit "
            f"model.vocab_size {vocab_size}"
        )
    if manifest.train_tokens <= window:
        raise SpecError(
            f"{what}: {manifest.train_tokens} training tokens, need more than {window} (one window)"
        )
    if manifest.train_tokens - window >= 1 << 31:
        raise SpecError(f"{what}: more than 2^31 training windows (split it into datasets)")
    missing = [a for a in manifest_blobs(manifest) if not store.has(a)]
    if missing:
        raise SpecError(
            f"{what}: {len(missing)} blob(s) missing from {store!r}, first {missing[0]}"
        )
    return manifest


def load_token_shards(spec: JobSpec, store: BlobStore) -> ShardedTokenData:
    """Open the spec's ``token-shards`` dataset: the manifest must fit the model and every shard
    must be present, whole and within the model's vocabulary (checked by one streaming pass)."""
    what = f"dataset {spec.dataset.address}"
    manifest = token_manifest(spec, store)
    vocab_size, window = _token_model(spec)
    reader = open_shards(manifest, store, vocab_limit=vocab_size, what=what)
    return ShardedTokenData(reader, window, manifest.train_tokens)


def _tensor(
    tensors: dict[str, Tensor], name: str, dtype: torch.dtype, ndim: int, what: str
) -> Tensor:
    if name not in tensors:
        raise SpecError(f"{what}: missing tensor {name!r}")
    t = tensors[name]
    if t.dtype != dtype or t.ndim != ndim:
        raise SpecError(
            f"{what}: tensor {name!r} must be {dtype} with {ndim} dims, got {t.dtype} {list(t.shape)}"
        )
    return t


def decode_dataset(spec: JobSpec, blob: bytes) -> Dataset:
    """Parse a dataset blob and check it fits the spec's model; SpecError naming the mismatch."""
    what = f"dataset {spec.dataset.address}"
    if spec.dataset.format == "token-shards":
        raise SpecError(
            f"{what}: a token-shards manifest is opened by load_dataset (needs its shards)"
        )
    try:
        tensors, _ = tensorfile.decode(blob, what)
    except TraceError as err:
        raise SpecError(str(err)) from None
    model = spec.model
    if isinstance(model, GPTSpec | LlamaSpec):
        tokens = _tensor(tensors, "tokens", torch.int64, 1, what)
        vocab = _tensor(tensors, "vocab", torch.int64, 1, what)
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= model.vocab_size):
            raise SpecError(
                f"{what}: token ids must be in [0, model.vocab_size={model.vocab_size})"
            )
        if vocab.shape[0] > model.vocab_size:
            raise SpecError(
                f"{what}: vocabulary of {vocab.shape[0]} exceeds model.vocab_size {model.vocab_size}"
            )
        if tokens.shape[0] <= model.block_size:
            raise SpecError(
                f"{what}: {tokens.shape[0]} tokens, need more than block_size {model.block_size}"
            )
        return TokenData(tokens, vocab, model.block_size)
    x = _tensor(tensors, "x", torch.float32, 2, what)
    y = _tensor(tensors, "y", torch.int64, 1, what)
    if x.shape[0] != y.shape[0]:
        raise SpecError(f"{what}: x has {x.shape[0]} rows but y has {y.shape[0]}")
    if isinstance(model, MLPSpec):
        features = model.input_dim
    else:
        assert isinstance(model, CNNSpec)
        features = model.in_channels * model.image_size**2
    if x.shape[1] != features:
        raise SpecError(
            f"{what}: x has {x.shape[1]} features, model.{model.architecture} needs {features}"
        )
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= model.num_classes):
        raise SpecError(f"{what}: labels must be in [0, model.num_classes={model.num_classes})")
    if spec.batch_size > x.shape[0]:
        raise SpecError(f"batch_size {spec.batch_size} exceeds the dataset's {x.shape[0]} rows")
    return ClassificationData(x, y)


def load_dataset(spec: JobSpec, store: BlobStore) -> Dataset:
    """Fetch (verified) and decode the spec's dataset."""
    if not store.has(spec.dataset.address):
        hint = " (run `crowdtrain data prepare digits|text` for the examples)"
        raise SpecError(f"dataset {spec.dataset.address} is not in the blob store {store!r}{hint}")
    if spec.dataset.format == "token-shards":
        return load_token_shards(spec, store)
    return decode_dataset(spec, store.get(spec.dataset.address))
