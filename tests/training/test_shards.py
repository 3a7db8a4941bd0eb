"""Token-shard datasets: what ``data prepare`` writes, how training reads it (by range, the same
windows everywhere) and the validation loss reported at each checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from node.runtime import rng
from node.runtime.rng import RngKey
from node.storage import LocalBlobStore
from node.trace.manifest import parse_manifest as parse_trace_manifest
from node.trace.state import state_hash
from node.training.data import ShardedTokenData, load_dataset
from node.training.session import TrainingSession
from node.training.shards import DTYPES, parse_manifest
from node.training.text_tokenizer import TextTokenizer, load_tokenizer, train_bpe
from node.training.trainer import train

from .shard_kit import DOCS, gpt_spec, prepare, write_docs

CLI = str(Path(sys.executable).parent / "crowdtrain")


def _stream(store: LocalBlobStore, address: str) -> np.ndarray:
    manifest = parse_manifest(store.get(address), "test")
    parts = [np.frombuffer(store.get(s.address), DTYPES[manifest.dtype]) for s in manifest.shards]
    return np.concatenate(parts).astype(np.int64)


def test_byte_prepare_writes_documents_with_eos_and_a_tail_split(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    result = prepare(store, write_docs(tmp_path / "in"))
    m = result.manifest
    encoded = [list(d.encode("utf-8")) for d in DOCS]
    expected = [t for doc in encoded for t in [*doc, 256]]
    assert _stream(store, result.address).tolist() == expected
    assert (m.dtype, m.vocab_size, m.eos_id, m.documents) == ("uint16", 257, 256, 3)
    assert m.total_tokens == len(expected) and len(m.shards) == -(-len(expected) // 1000)
    assert m.validation_tokens == len(expected) // 10
    assert m.tokenizer == {"kind": "byte"}
    assert json.loads(store.get(result.address))["format"] == "token-shards"
    # same inputs, same bytes: the address is reproducible
    again = prepare(LocalBlobStore(tmp_path / "other"), write_docs(tmp_path / "in2"))
    assert again.address == result.address


def test_large_vocabularies_use_uint32(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    wide = TextTokenizer(kind="byte", vocab_size=70_000, eos_id=69_999)
    result = prepare(store, write_docs(tmp_path / "in"), wide)
    assert result.manifest.dtype == "uint32"
    assert _stream(store, result.address)[len(DOCS[0].encode())] == 69_999


def test_bpe_tokenizer_is_trained_used_and_shipped(tmp_path: Path) -> None:
    paths = write_docs(tmp_path / "in")
    size = train_bpe(paths, 300, tmp_path / "tok" / "tokenizer.json")
    assert size == 300
    store = LocalBlobStore(tmp_path / "blobs")
    tokenizer = load_tokenizer(str(tmp_path / "tok"))
    result = prepare(store, paths, tokenizer)
    m = result.manifest
    assert m.vocab_size == 300 and m.eos_id == tokenizer.eos_id
    raw = (tmp_path / "tok" / "tokenizer.json").read_bytes()
    assert store.get(m.tokenizer["address"]) == raw
    assert m.tokenizer["files"] == {"tokenizer.json": m.tokenizer["address"]}
    from tokenizers import Tokenizer

    ids = _stream(store, result.address)
    first_doc = ids[: int(np.argmax(ids == m.eos_id))].tolist()
    assert Tokenizer.from_str(raw.decode()).decode(first_doc) == DOCS[0]


def test_windows_are_read_by_range_across_shards(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    result = prepare(store, write_docs(tmp_path / "in"), shard_tokens=37)
    spec = gpt_spec(result.address)
    data = load_dataset(spec, store)
    assert isinstance(data, ShardedTokenData)
    stream = torch.from_numpy(_stream(store, result.address))
    key = RngKey.from_seed(spec.seed)
    x, y, _, cursor = data.batch(key, 0, 3, 4)
    assert cursor == 4 and x.dtype == torch.int64 and tuple(x.shape) == (4, 16)
    starts = rng.randint(key, ("batch", 3), 4, result.manifest.train_tokens - 16)
    for row_x, row_y, s in zip(x, y, starts.tolist(), strict=True):
        assert torch.equal(row_x, stream[s : s + 16]) and torch.equal(row_y, stream[s + 1 : s + 17])
    assert len({s // 37 for s in starts.tolist()}) > 1  # windows come from several shards
    # a second load (another process, another machine) serves the same windows
    x2, y2, _, _ = load_dataset(spec, store).batch(key, 0, 3, 4)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_training_reports_validation_loss_without_touching_the_trace(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    result = prepare(store, write_docs(tmp_path / "in"))
    spec = gpt_spec(result.address)
    run = train(spec, store=store, work_dir=tmp_path / "w", job_id=0, attempt=0)
    vals = [c.validation_loss for c in run.manifest.checkpoints]
    assert all(v is not None and 0.0 < v < 7.0 for v in vals) and len(vals) == 3
    assert vals[-1] < vals[0]  # it learns
    blob = store.get(run.manifest_address)
    assert parse_trace_manifest(blob).checkpoints[1].validation_loss == vals[1]
    resumed = train(spec, store=store, work_dir=tmp_path / "w", job_id=0, attempt=0)
    assert resumed.final_state_hash == run.final_state_hash
    assert [c.validation_loss for c in resumed.manifest.checkpoints] == vals


def test_validation_loss_leaves_the_trace_alone(tmp_path: Path) -> None:
    """Measuring validation loss at each checkpoint does not move the trained states; a dataset
    with no split gives a manifest without validation losses (not even ``null``)."""
    store = LocalBlobStore(tmp_path / "blobs")
    split = prepare(store, write_docs(tmp_path / "in"))
    spec = gpt_spec(split.address)
    run = train(spec, store=store, work_dir=tmp_path / "w", job_id=0, attempt=0)
    session = TrainingSession(spec, load_dataset(spec, store))
    state = session.initial_state()
    for _ in range(spec.steps):
        state = session.step(state)
    assert state_hash(state) == run.final_state_hash
    bare = prepare(store, write_docs(tmp_path / "in2"), validation_fraction=0.0)
    spec = gpt_spec(bare.address)
    run = train(spec, store=store, work_dir=tmp_path / "w2", job_id=0, attempt=0)
    assert all(c.validation_loss is None for c in run.manifest.checkpoints)
    assert b"validation_loss" not in store.get(run.manifest_address)


def test_cli_prepare_and_tokenizer_train(tmp_path: Path) -> None:
    paths = write_docs(tmp_path / "in")
    tok = subprocess.run(
        [CLI, "data", "tokenizer", "train", "--text", str(paths[0]), "--text", str(paths[1]),
         "--vocab-size", "280", "--out", str(tmp_path / "tok.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert tok.returncode == 0, tok.stderr
    out = subprocess.run(
        [CLI, "data", "prepare", "--text", str(paths[0]), "--text", str(paths[1]),
         "--tokenizer", str(tmp_path / "tok.json"), "--blob-dir", str(tmp_path / "blobs")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    address = out.stdout.strip()
    manifest = parse_manifest(LocalBlobStore(tmp_path / "blobs").get(address), "cli")
    assert manifest.vocab_size == 280 and manifest.documents == 2
    assert "tokens/s" in out.stderr and "2 documents" in out.stderr


@pytest.mark.parametrize("name", ["digits", "text"])
def test_examples_still_prepare(tmp_path: Path, name: str) -> None:
    out = subprocess.run(
        [CLI, "data", "prepare", name, "--blob-dir", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout.startswith("sha256:"), out.stderr


def test_cli_prepare_takes_text_files_after_one_flag(tmp_path: Path) -> None:
    """``--text a b c`` is ``--text a --text b --text c`` for ``data prepare`` (same documents, same
    order, same address) and ``data tokenizer train``; mixing both forms is refused, since the
    order would be a guess."""
    paths = [str(p) for p in write_docs(tmp_path / "in")]
    assert len(paths) >= 3

    def prepare_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "data", "prepare", *args, "--blob-dir", str(tmp_path / "blobs"), "--quiet"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    repeated = prepare_cli(*(arg for p in paths for arg in ("--text", p)))
    listed = prepare_cli("--text", *paths)
    assert repeated.returncode == listed.returncode == 0, listed.stderr
    assert listed.stdout == repeated.stdout
    manifest = parse_manifest(LocalBlobStore(tmp_path / "blobs").get(listed.stdout.strip()), "cli")
    assert manifest.documents == len(paths)
    stored = sorted((tmp_path / "blobs").rglob("*"))
    mixed = prepare_cli("--text", paths[0], paths[1], "--text", paths[2])
    assert mixed.returncode == 1 and mixed.stdout == ""
    assert "or repeat --text before each, not both" in mixed.stderr
    assert len(mixed.stderr.strip().splitlines()) == 1
    assert sorted((tmp_path / "blobs").rglob("*")) == stored  # nothing written
    example = prepare_cli("digits", "--text", paths[0])
    assert example.returncode == 1 and "either an example NAME" in example.stderr

    def train_cli(out: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, "data", "tokenizer", "train", *args, "--vocab-size", "280",
             "--out", str(tmp_path / out)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    assert train_cli("a.json", "--text", *paths).returncode == 0
    assert train_cli("b.json", *(arg for p in paths for arg in ("--text", p))).returncode == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    mixed = train_cli("c.json", "--text", paths[0], paths[1], "--text", paths[2])
    assert mixed.returncode == 1 and "not both" in mixed.stderr
    assert not (tmp_path / "c.json").exists()


def test_text_chunks_encode_in_batches_to_the_same_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long ``--text`` file is cut into whole-line chunks, each encoded as one string; encoding
    the chunks several at a time (in parallel) gives exactly the ids chunk by chunk did, so the
    dataset address does not depend on the batch (small chunks stand in for 1 MiB ones)."""
    from node.training import prepare as prepare_module

    text = "".join(DOCS) + "\n\n  spaced  \r\nlast line without newline"
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    train_bpe([path], 300, tmp_path / "tok" / "tokenizer.json")
    tokenizer = load_tokenizer(str(tmp_path / "tok"))
    monkeypatch.setattr(prepare_module, "_TEXT_CHUNK", 256)
    addresses = []
    for batch in (1, 3, 8):
        monkeypatch.setattr(prepare_module, "_TEXT_BATCH", batch)
        store = LocalBlobStore(tmp_path / f"blobs{batch}")
        prepared = prepare(store, [path], tokenizer=tokenizer, validation_fraction=0.0)
        addresses.append(prepared.address)
    assert addresses[0] == addresses[1] == addresses[2]
    chunks = [piece for pieces, _ in prepare_module._text_docs(path) for piece in pieces]
    assert len(chunks) > 8 and "".join(chunks) == text.replace("\r\n", "\n")
    reference = pytest.importorskip("tokenizers").Tokenizer.from_file(
        str(tmp_path / "tok" / "tokenizer.json")
    )  # the library's plain encode, one chunk at a time
    ids = [i for chunk in chunks for i in reference.encode(chunk, add_special_tokens=False).ids]
    manifest = parse_manifest(store.get(addresses[0]), "batched")
    stored = np.concatenate(
        [np.frombuffer(store.get(s.address), DTYPES[manifest.dtype]) for s in manifest.shards]
    )
    assert stored.tolist() == [*ids, tokenizer.eos_id]


def test_jsonl_documents_encode_in_batches_to_the_same_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSONL documents go to the tokenizer many at a time; each is still followed by one EOS and
    the dataset does not depend on the batch (one document at a time is the reference)."""
    from node.training import prepare as prepare_module
    from node.training.prepare import Source, prepare_dataset

    docs = [f"Document {i}: {DOCS[i % 3][: 40 + 7 * i]}" for i in range(20)] + ["", "last"]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs), encoding="utf-8")
    train_bpe(write_docs(tmp_path / "in"), 300, tmp_path / "tok" / "tokenizer.json")
    tokenizer = load_tokenizer(str(tmp_path / "tok"))
    addresses = []
    for batch, chunk in ((1, 1 << 20), (3, 1 << 20), (256, 1 << 20), (256, 100)):
        monkeypatch.setattr(prepare_module, "_BATCH_DOCS", batch)
        monkeypatch.setattr(prepare_module, "_TEXT_CHUNK", chunk)
        store = LocalBlobStore(tmp_path / f"blobs{batch}-{chunk}")
        result = prepare_dataset(
            [Source("jsonl", path, "text")], tokenizer, store, name="j", progress=False
        )
        assert result.manifest.documents == len(docs)
        addresses.append(result.address)
    assert len(set(addresses)) == 1
    reference = pytest.importorskip("tokenizers").Tokenizer.from_file(
        str(tmp_path / "tok" / "tokenizer.json")
    )
    expected = [
        i
        for d in docs
        for i in [*reference.encode(d, add_special_tokens=False).ids, tokenizer.eos_id]
    ]
    assert _stream(store, addresses[0]).tolist() == expected
