"""The byte-level BPE fast path of ``data prepare``: ASCII text split by Python's ``re`` and each
distinct pre-token encoded once gives exactly the ids ``tokenizers`` gives for the whole text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.training import text_tokenizer
from node.training.text_tokenizer import TextTokenizer, load_tokenizer, train_bpe

tokenizers = pytest.importorskip("tokenizers")

CORPUS = (
    "It's the miller's 12 sacks; they'll count 345 more.\n\n"
    "  Indented\tline\twith tabs,\r\n\x0bvertical\x0cfeed and 'quotes' we've seen?!\n"
    "Numbers 2026, 3.14 and x86_64 -- ok... I'm done, you'd agree, we're here.\n"
) * 40

# every ASCII character (NUL too: the tokenizer takes it, ``data prepare`` refuses it earlier),
# runs of the separators the split treats specially, contractions, and some non-ASCII text
PIECES = st.sampled_from(
    [chr(c) for c in range(128)]
    + ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "  ", "\n\n", " \n ", "\t\t", "\x1c\x1d"]
    + ["the", " miller", "12", " 345", "é", "café", "日本", "\u2028", "\xa0", "<|endoftext|>"]
    + ["\n", "\n", "\nx", "\n'", "\n\n", "\n ", " \n", "\xa0\n", "\u3000\n", "é\n", "\n\xa0"]
)
TEXTS = st.lists(PIECES, max_size=60).map("".join)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bpe")
    (folder / "corpus.txt").write_text(CORPUS, encoding="utf-8")
    train_bpe([folder / "corpus.txt"], 400, folder / "tokenizer.json")
    return folder / "tokenizer.json"


def _library_ids(path: Path, text: str) -> list[int]:
    ids: list[int] = (
        tokenizers.Tokenizer.from_file(str(path)).encode(text, add_special_tokens=False).ids
    )
    return ids


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(TEXTS, min_size=1, max_size=4))
def test_fast_path_gives_the_library_ids(trained: Path, texts: list[str]) -> None:
    tokenizer = load_tokenizer(str(trained))
    assert tokenizer._pieces is not None  # train_bpe's tokenizer takes the fast path
    reference = tokenizers.Tokenizer.from_file(str(trained))
    got = tokenizer.encode_batch(texts)
    for text, ids in zip(texts, got, strict=True):
        assert ids.dtype == np.int64
        assert ids.tolist() == reference.encode(text, add_special_tokens=False).ids


def test_the_cache_serves_ascii_and_leaves_the_rest_to_the_library(trained: Path) -> None:
    tokenizer = load_tokenizer(str(trained))
    cache = tokenizer._pieces
    assert cache is not None
    [ids] = tokenizer.encode_batch([CORPUS])
    assert ids.tolist() == _library_ids(trained, CORPUS)
    assert 0 < len(cache.ids) < 100  # distinct pre-tokens, each encoded once
    text = "one<|endoftext|>two"
    assert not cache.takes(text)
    assert tokenizer.encode_batch([text])[0].tolist() == _library_ids(trained, text)


def test_ascii_lines_of_a_mixed_text_use_the_cache(trained: Path) -> None:
    tokenizer = load_tokenizer(str(trained))
    cache = tokenizer._pieces
    assert cache is not None
    text = CORPUS + "Un café, déjà\u00a0vu.\n" + CORPUS + "\n\u3000end"
    [ids] = tokenizer.encode_batch([text])
    assert ids.tolist() == _library_ids(trained, text)
    assert " count" in cache.ids and " agree" in cache.ids  # ASCII lines were cached
    assert not any("é" in piece for piece in cache.ids)  # the rest went to tokenizers


def test_a_full_cache_is_cleared_and_gives_the_same_ids(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_tokenizer, "_PIECE_CACHE_CHARS", 20)
    tokenizer = load_tokenizer(str(trained))
    texts = [CORPUS[i : i + 500] for i in range(0, 3000, 500)]
    assert [a.tolist() for a in tokenizer.encode_batch(texts)] == [
        _library_ids(trained, t) for t in texts
    ]
    assert tokenizer._pieces is not None and tokenizer._pieces.chars <= 20 + 500


@pytest.mark.parametrize(
    "change",
    [
        {"normalizer": {"type": "Lowercase"}},
        {"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                           "use_regex": True}},
        {"pre_tokenizer": {"type": "Whitespace"}},
        {"post_processor": {"type": "TemplateProcessing", "single": [], "pair": [],
                            "special_tokens": {}}},
    ],
)  # fmt: skip
def test_other_tokenizers_are_left_to_the_library(
    trained: Path, tmp_path: Path, change: dict[str, object]
) -> None:
    config = json.loads(trained.read_text(encoding="utf-8"))
    config.update(change)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    tokenizer: TextTokenizer = load_tokenizer(str(path))
    assert tokenizer._pieces is None
    text = "It's The Miller's 12 sacks."
    assert tokenizer.encode_batch([text])[0].tolist() == _library_ids(path, text)


def test_a_byte_level_post_processor_keeps_the_fast_path(trained: Path, tmp_path: Path) -> None:
    """GPT-2's own tokenizer.json has a ByteLevel post-processor (offsets only)."""
    config = json.loads(trained.read_text(encoding="utf-8"))
    config["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False,
                                "trim_offsets": True, "use_regex": True}  # fmt: skip
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    tokenizer = load_tokenizer(str(path))
    assert tokenizer._pieces is not None
    assert tokenizer.encode_batch([CORPUS])[0].tolist() == _library_ids(path, CORPUS)
