"""Tokenizers for ``data prepare``: raw UTF-8 bytes, or a local Hugging Face ``tokenizers`` file.

A dataset manifest records which tokenizer made it (its files stored as blobs, so an exported model
can ship them) and its vocabulary size, so a spec whose model is too small for it is refused before
training. ``train_bpe`` builds a byte-level BPE tokenizer from local text for a newcomer who has none.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from node.errors import DataError

EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "<|eot_id|>")
BYTE_EOS = 256
DEFAULT_EOS = "<|endoftext|>"
SHIPPED_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@dataclass
class TextTokenizer:
    """What ``data prepare`` needs of a tokenizer: ids of a batch of texts, the vocabulary size,
    the EOS id written between documents and the files to ship with the dataset."""

    kind: str
    vocab_size: int
    eos_id: int
    files: dict[str, bytes] = field(default_factory=dict)
    _hf: Any = None

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        """The ids of each text (int64)."""
        if self._hf is None:
            return [np.frombuffer(t.encode("utf-8"), np.uint8).astype(np.int64) for t in texts]
        # encode_batch_fast (tokenizers >= 0.21): the same ids, without the character offsets
        # ``data prepare`` never reads (about half the work on long pieces).
        encode = getattr(self._hf, "encode_batch_fast", self._hf.encode_batch)
        encoded = encode(texts, add_special_tokens=False)
        return [np.asarray(e.ids, dtype=np.int64) for e in encoded]


def byte_tokenizer() -> TextTokenizer:
    """UTF-8 bytes as ids 0..255 and EOS = 256 (vocabulary 257)."""
    return TextTokenizer(kind="byte", vocab_size=BYTE_EOS + 1, eos_id=BYTE_EOS)


def load_tokenizer(source: str, eos_token: str | None = None) -> TextTokenizer:
    """``byte``, a ``tokenizer.json`` file or a Hugging Face tokenizer directory holding one."""
    if source == "byte":
        return byte_tokenizer()
    from tokenizers import Tokenizer

    path = Path(source)
    folder = path if path.is_dir() else path.parent
    main = path / "tokenizer.json" if path.is_dir() else path
    try:
        raw = main.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read tokenizer {main}: {err.strerror or err}") from None
    try:
        hf = Tokenizer.from_str(raw.decode("utf-8"))
    except (UnicodeDecodeError, Exception) as err:  # tokenizers raises a bare Exception
        raise DataError(f"{main} is not a tokenizers tokenizer.json: {err}") from None
    files = {"tokenizer.json": raw}
    if path.is_dir():
        for name in SHIPPED_FILES[1:]:
            if (folder / name).is_file():
                files[name] = (folder / name).read_bytes()
    names = [eos_token] if eos_token else list(EOS_CANDIDATES)
    eos = next((hf.token_to_id(n) for n in names if hf.token_to_id(n) is not None), None)
    if eos is None:
        wanted = repr(eos_token) if eos_token else f"any of {', '.join(EOS_CANDIDATES)}"
        raise DataError(f"tokenizer {main} has no EOS token {wanted}: name one with --eos-token")
    return TextTokenizer(
        kind="tokenizers",
        vocab_size=hf.get_vocab_size(with_added_tokens=True),
        eos_id=int(eos),
        files=files,
        _hf=hf,
    )


def train_bpe(
    texts: Iterable[Path], vocab_size: int, out: Path, eos_token: str = DEFAULT_EOS
) -> int:
    """Train a byte-level BPE tokenizer (``tokenizers``' BpeTrainer) on local files, write it to
    ``out`` atomically and return its vocabulary size."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    paths = [str(p) for p in texts]
    for p in paths:
        if not Path(p).is_file():
            raise DataError(f"cannot read {p}: no such file")
    if vocab_size < 257:
        raise DataError(f"--vocab-size {vocab_size} is below 257 (256 bytes + EOS)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[eos_token],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train(paths, trainer)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-")
    os.close(fd)
    try:
        tok.save(tmp)
        json.loads(Path(tmp).read_text(encoding="utf-8"))  # written whole
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return int(tok.get_vocab_size(with_added_tokens=True))
