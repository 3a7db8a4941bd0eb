"""Bad data gets one clear line naming what is wrong, and nothing is half-written: no blob is stored
when an input is unusable, and a dataset that does not fit its spec is refused before training (a
shard's bytes, when training first reads it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from node.errors import DataError, SpecError
from node.storage import LocalBlobStore
from node.training.data import ShardedTokenData, load_dataset, token_manifest
from node.training.prepare import Source, prepare_dataset
from node.training.shards import DatasetManifest
from node.training.text_tokenizer import byte_tokenizer, load_tokenizer, train_bpe

from .shard_kit import gpt_spec, prepare, write_docs

CLI = str(Path(sys.executable).parent / "crowdtrain")


def _read_all(data: object) -> None:
    """Read the whole stream, as a long run eventually does: every shard gets checked."""
    assert isinstance(data, ShardedTokenData)
    data.reader.read(0, data.reader.starts[-1])


def _refused(store: LocalBlobStore, sources: list[Source], match: str) -> None:
    with pytest.raises(DataError, match=match):
        prepare_dataset(sources, byte_tokenizer(), store, name="bad", progress=False)
    assert not store.root.exists() or not any(store.root.iterdir())  # nothing stored


def test_empty_input(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    _refused(
        LocalBlobStore(tmp_path / "b"), [Source("text", tmp_path / "empty.txt")], "empty input"
    )
    _refused(LocalBlobStore(tmp_path / "b"), [], "no input")


def test_non_utf8_and_binary_are_refused_after_good_shards(tmp_path: Path) -> None:
    good = write_docs(tmp_path / "in")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1") * 10)
    (tmp_path / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" * 50)
    store = LocalBlobStore(tmp_path / "b")
    # good files first: their shards are staged, then dropped with the rest
    sources = [Source("text", p) for p in good]
    _refused(
        store,
        [*sources, Source("text", tmp_path / "latin1.txt")],
        r"latin1.txt is not UTF-8 text: bad byte at offset 3",
    )
    _refused(
        store, [*sources, Source("text", tmp_path / "blob.bin")], r"blob.bin looks binary: NUL byte"
    )
    _refused(store, [Source("text", tmp_path / "missing.txt")], "missing.txt: no such file")


def test_jsonl_missing_field_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    store = LocalBlobStore(tmp_path / "b")
    path.write_text('{"text": "one"}\n{"body": "two"}\n')
    _refused(store, [Source("jsonl", path, "text")], r"d.jsonl line 2 has no field 'text'")
    path.write_text('{"text": "one"}\nnot json\n')
    _refused(store, [Source("jsonl", path, "text")], r"line 2 is not JSON")
    path.write_text('{"text": 3}\n')
    _refused(store, [Source("jsonl", path, "text")], r"field 'text' is int, not text")
    path.write_text('{"text": "one"}\n\n{"text": "two"}\n')
    result = prepare_dataset(
        [Source("jsonl", path, "text")], byte_tokenizer(), store, name="ok", progress=False
    )
    assert result.manifest.documents == 2 and result.manifest.total_tokens == 8


def test_parquet_needs_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # makes the import fail
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    _refused(
        LocalBlobStore(tmp_path / "b"),
        [Source("parquet", tmp_path / "d.parquet", "text")],
        "needs pyarrow",
    )


def test_parquet_gives_the_jsonl_dataset_and_refuses_bad_columns(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    docs = ["first document", "zweites Dokument", "", "third, with a comma"]
    pq.write_table(
        pa.table({"text": docs, "n": list(range(4))}), tmp_path / "d.parquet", row_group_size=2
    )
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    store = LocalBlobStore(tmp_path / "b")
    from_parquet = prepare_dataset(
        [Source("parquet", tmp_path / "d.parquet", "text")],
        byte_tokenizer(),
        store,
        name="same",
        progress=False,
    )
    from_jsonl = prepare_dataset(
        [Source("jsonl", tmp_path / "d.jsonl", "text")],
        byte_tokenizer(),
        store,
        name="same",
        progress=False,
    )
    assert from_parquet.address == from_jsonl.address  # same documents, same dataset
    bad = LocalBlobStore(tmp_path / "bad")
    _refused(bad, [Source("parquet", tmp_path / "d.parquet", "body")], r"has no column 'body'")
    _refused(
        bad, [Source("parquet", tmp_path / "d.parquet", "n")], r"row 0: column 'n' is not text"
    )
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    _refused(bad, [Source("parquet", tmp_path / "junk.parquet", "text")], "is not a parquet file")


def test_tokenizer_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read tokenizer"):
        load_tokenizer(str(tmp_path / "nope.json"))
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(DataError, match=r"is not a tokenizers tokenizer\.json"):
        load_tokenizer(str(tmp_path / "junk.json"))
    train_bpe(write_docs(tmp_path / "in"), 300, tmp_path / "tok.json", eos_token="<|endoftext|>")
    with pytest.raises(DataError, match="no EOS token '<eos>': name one with --eos-token"):
        load_tokenizer(str(tmp_path / "tok.json"), "<eos>")


def test_vocabulary_bigger_than_the_model_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "b")
    result = prepare(store, write_docs(tmp_path / "in"))
    spec = gpt_spec(result.address, vocab_size=200)  # the byte tokenizer needs 257
    msg = "tokenizer vocabulary of 257 does not fit model.vocab_size 200"
    with pytest.raises(SpecError, match=msg):
        token_manifest(spec, store)
    with pytest.raises(SpecError, match=msg):
        load_dataset(spec, store)


def test_token_ids_beyond_the_vocabulary_are_refused(tmp_path: Path) -> None:
    """A manifest that understates its vocabulary is caught when training first reads the shard
    (the shard check scans its ids with its hash)."""
    store = LocalBlobStore(tmp_path / "b")
    result = prepare(store, write_docs(tmp_path / "in"))
    m = result.manifest
    liar = DatasetManifest(
        m.name, m.dtype, 128, 0, m.documents, m.validation_tokens, m.shards, m.tokenizer
    )
    address = store.put(liar.canonical_json())
    with pytest.raises(SpecError, match=r"shard \d holds token id \d+ >= model.vocab_size 128"):
        _read_all(load_dataset(gpt_spec(address, vocab_size=128), store))


def test_truncated_missing_and_corrupt_shards(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "b")
    result = prepare(store, write_docs(tmp_path / "in"))
    spec = gpt_spec(result.address)
    shard = store.path(result.manifest.shards[1].address)
    data = shard.read_bytes()
    shard.write_bytes(data[:-6])
    with pytest.raises(
        SpecError, match=r"shard 1 sha256:[0-9a-f]+ is truncated or oversized: 1994 bytes"
    ):
        load_dataset(spec, store)
    shard.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    with pytest.raises(SpecError, match=r"shard 1 sha256:[0-9a-f]+ is corrupt"):
        _read_all(load_dataset(spec, store))
    shard.unlink()
    with pytest.raises(SpecError, match=r"1 blob\(s\) missing"):
        load_dataset(spec, store)


def test_malformed_manifest(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "b")
    result = prepare(store, write_docs(tmp_path / "in"))
    body = json.loads(store.get(result.address))
    body["shards"][0]["tokens"] += 1
    address = store.put(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    with pytest.raises(SpecError, match=r"'tokens' \d+ != sum of shard tokens"):
        load_dataset(gpt_spec(address), store)
    not_json = store.put(b"\x89 not a manifest")
    with pytest.raises(SpecError, match="is not a token-shards manifest"):
        load_dataset(gpt_spec(not_json), store)
    nested = store.put(b"[" * 5_000 + b"]" * 5_000)  # past the default recursion limit
    with pytest.raises(SpecError, match="is not a token-shards manifest"):
        load_dataset(gpt_spec(nested), store)
    short = prepare(LocalBlobStore(tmp_path / "c"), write_docs(tmp_path / "in2", ["tiny"]))
    with pytest.raises(SpecError, match="training tokens, need more than 16"):
        token_manifest(gpt_spec(short.address), LocalBlobStore(tmp_path / "c"))


def test_cli_bad_data_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\0\1\2")
    out = subprocess.run(
        [CLI, "data", "prepare", "--text", str(tmp_path / "x.bin"), "--blob-dir", str(tmp_path / "b"), "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 1 and out.stdout == ""
    assert (
        out.stderr.strip().count("\n") == 0 and "looks binary: NUL byte at offset 0" in out.stderr
    )
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())


def test_job_submit_refuses_a_manifest_the_model_cannot_take(tmp_path: Path) -> None:
    """Checked before any chain call: the vocabulary must fit and every shard must be uploaded."""
    store = LocalBlobStore(tmp_path / "b")
    result = prepare(store, write_docs(tmp_path / "in"))
    spec_path = tmp_path / "spec.json"
    spec_path.write_bytes(gpt_spec(result.address, vocab_size=200).canonical_json())
    out = subprocess.run(
        [CLI, "job", "submit", str(spec_path), "--reward", "1", "--verifier-fee", "0",
         "--blob-dir", str(store.root), "--rpc-url", "http://127.0.0.1:9"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert "tokenizer vocabulary of 257 does not fit model.vocab_size 200" in out.stderr
    store.path(result.manifest.shards[0].address).unlink()
    spec_path.write_bytes(gpt_spec(result.address).canonical_json())
    out = subprocess.run(
        [CLI, "job", "submit", str(spec_path), "--reward", "1", "--verifier-fee", "0",
         "--blob-dir", str(store.root), "--rpc-url", "http://127.0.0.1:9"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 1 and "1 blob(s) missing" in out.stderr, out.stderr
