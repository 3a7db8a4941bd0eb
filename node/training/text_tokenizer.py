"""Tokenizers for ``data prepare``: raw UTF-8 bytes, or a local Hugging Face ``tokenizers`` file.

A dataset manifest records which tokenizer made it (its files stored as blobs, so an exported model
can ship them) and its vocabulary size, so a spec whose model is too small for it is refused before
training. ``train_bpe`` builds a byte-level BPE tokenizer from local text for a newcomer who has none.
A plain byte-level BPE tokenizer (what ``train_bpe`` writes, GPT-2's) encodes the ASCII lines of a
text through a cache of pre-tokens (``_PieceCache``): the ids ``tokenizers`` gives, several times
faster.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from node.errors import DataError

EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "<|eot_id|>")
BYTE_EOS = 256
DEFAULT_EOS = "<|endoftext|>"
SHIPPED_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")

# The byte-level pre-tokenizer's split, GPT-2's pattern as ``tokenizers`` compiles it
#   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# spelt out for ASCII text, where its classes are exact: \p{L} = [A-Za-z], \p{N} = [0-9] and \s
# the six ASCII white-space characters (Oniguruma's \s; Python's would add \x1c-\x1f). Two
# rewrites make Python's ``re`` about twice as fast and match the same pieces: the contractions
# share their quote (one of them at most can match), and words go first (no other alternative
# that can start where a word does comes before it).
_SPACE = "\t\n\v\f\r "
_ASCII_BYTE_LEVEL = re.compile(
    rf" ?[A-Za-z]+|'(?:[stmd]|re|ve|ll)| ?[0-9]+| ?[^{_SPACE}A-Za-z0-9]+"
    rf"|[{_SPACE}]+(?![^{_SPACE}])|[{_SPACE}]+"
)
_PIECE_CACHE_CHARS = 1 << 21  # cleared past this: ~100 MB at most, whatever the input


# A cut the split always makes, whatever the Unicode classes of the text around it: before a
# newline followed by a printable ASCII character (not white space). The newline is then a piece of
# its own or the last character of a white-space run that ``\s+(?!\S)`` stops short of, and what
# precedes it ends there either way (no other alternative takes a newline), so the text on either
# side splits alone as it does in place.
_CUT = re.compile(r"(?=\n[!-~])")


class _PieceCache:
    """Pre-token → ids for a byte-level BPE tokenizer.

    ``tokenizers`` spends most of its time splitting (the pre-tokenizer's regex and its per-byte
    alignment bookkeeping), one core per 1 MiB chunk; the model then encodes each pre-token alone.
    So for ASCII text, whose split Python's ``re`` reproduces exactly, the pieces are found here
    and each distinct piece is encoded once by ``tokenizers`` itself (alone, as it would be in
    place) and remembered: the same ids, several times faster (words repeat). A text with some
    non-ASCII characters is cut at ``_CUT`` points: its ASCII runs of lines go through the cache,
    the rest to ``tokenizers``. A text holding an added token's text (``tokenizers`` cuts those
    out first) goes to ``tokenizers`` whole."""

    def __init__(self, hf: Any, added: list[str]) -> None:
        self.hf = hf
        self.added = [a for a in added if a]
        self.ids: dict[str, tuple[int, ...]] = {}
        self.chars = 0
        self.library = getattr(hf, "encode_batch_fast", hf.encode_batch)

    def takes(self, text: str) -> bool:
        return not any(a in text for a in self.added)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text`` (which holds no added token's text)."""
        if text.isascii():
            return self._ascii(text)
        runs: list[tuple[bool, list[str]]] = []
        for part in _CUT.split(text):
            ascii_only = part.isascii()
            if runs and runs[-1][0] == ascii_only:
                runs[-1][1].append(part)
            else:
                runs.append((ascii_only, [part]))
        joined = [(ascii_only, "".join(parts)) for ascii_only, parts in runs]
        rest = [t for ascii_only, t in joined if not ascii_only]
        library = iter(self.library(rest, add_special_tokens=False))
        return np.concatenate(
            [
                self._ascii(t) if ascii_only else np.asarray(next(library).ids, np.int64)
                for ascii_only, t in joined
            ]
        )

    def _ascii(self, text: str) -> np.ndarray:
        pieces = _ASCII_BYTE_LEVEL.findall(text)
        missing = set(pieces).difference(self.ids)
        if self.chars + sum(map(len, missing)) > _PIECE_CACHE_CHARS:
            self.ids.clear()
            self.chars, missing = 0, set(pieces)
        if missing:
            new = list(missing)
            for piece, encoded in zip(
                new, self.library(new, add_special_tokens=False), strict=True
            ):
                self.ids[piece] = tuple(encoded.ids)
            self.chars += sum(map(len, new))
        return np.fromiter(chain.from_iterable(map(self.ids.__getitem__, pieces)), np.int64)


def _piece_cache(config: Any, hf: Any) -> _PieceCache | None:
    """A piece cache when the tokenizer is plain byte-level BPE, so that every pre-token encodes
    alone to the ids it gets in place: no normalizer, truncation or padding, GPT-2's split without
    a prefix space, a BPE model without dropout, no post-processor but ByteLevel's (which only
    trims offsets). Any other tokenizer is left to ``tokenizers`` whole."""
    if not isinstance(config, dict):
        return None
    pre, model, post = (config.get(k) or {} for k in ("pre_tokenizer", "model", "post_processor"))
    plain = (
        all(config.get(k) is None for k in ("normalizer", "truncation", "padding"))
        and isinstance(pre, dict)
        and pre.get("type") == "ByteLevel"
        and pre.get("add_prefix_space") is False
        and pre.get("use_regex", True) is True
        and isinstance(model, dict)
        and model.get("type") == "BPE"
        and model.get("dropout") is None
        and isinstance(post, dict)
        and post.get("type", "ByteLevel") == "ByteLevel"
    )
    if not plain:
        return None
    added = [t.get("content", "") for t in config.get("added_tokens") or [] if isinstance(t, dict)]
    return _PieceCache(hf, [a for a in added if isinstance(a, str)])


@dataclass
class TextTokenizer:
    """What ``data prepare`` needs of a tokenizer: ids of a batch of texts, the vocabulary size,
    the EOS id written between documents and the files to ship with the dataset."""

    kind: str
    vocab_size: int
    eos_id: int
    files: dict[str, bytes] = field(default_factory=dict)
    _hf: Any = None
    _pieces: _PieceCache | None = None

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        """The ids of each text (int64)."""
        if self._hf is None:
            return [np.frombuffer(t.encode("utf-8"), np.uint8).astype(np.int64) for t in texts]
        out: list[np.ndarray | None] = [None] * len(texts)
        rest = []
        for i, text in enumerate(texts):
            if self._pieces is not None and self._pieces.takes(text):
                out[i] = self._pieces.encode(text)
            else:
                rest.append(i)
        if rest:
            # encode_batch_fast (tokenizers >= 0.21): the same ids, without the character
            # offsets ``data prepare`` never reads (about half the work on long pieces).
            encode = getattr(self._hf, "encode_batch_fast", self._hf.encode_batch)
            encoded = encode([texts[i] for i in rest], add_special_tokens=False)
            for i, e in zip(rest, encoded, strict=True):
                out[i] = np.asarray(e.ids, dtype=np.int64)
        return [ids for ids in out if ids is not None]


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
        _pieces=_piece_cache(json.loads(raw), hf),
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
