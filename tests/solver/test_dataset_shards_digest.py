"""The Dataset availability vote on a ``token-shards`` dataset covers its manifest and every blob it
names: a missing or corrupt shard (or tokenizer file) makes the whole dataset unavailable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from blake3 import blake3
from solver_jobs import CLAIMED_JOB

from node.storage import LocalBlobStore
from node.training.prepare import Source, prepare_dataset
from node.training.shards import dataset_blobs
from node.training.spec import parse_spec
from node.training.text_tokenizer import load_tokenizer, train_bpe
from node.votes import UNAVAILABLE, dataset_digest


def test_dataset_digest_covers_manifest_shards_and_tokenizer(tmp_path: Path) -> None:
    text = tmp_path / "doc.txt"
    text.write_text("a small corpus of words, words and more words.\n" * 80)
    train_bpe([text], 280, tmp_path / "tokenizer.json")
    store = LocalBlobStore(tmp_path / "blobs")
    result = prepare_dataset(
        [Source("text", text)],
        load_tokenizer(str(tmp_path / "tokenizer.json")),
        store,
        name="doc",
        shard_tokens=200,
        progress=False,
    )
    spec = parse_spec(
        {
            "model": {"architecture": "gpt", "vocab_size": 280, "block_size": 8, "n_head": 1,
                      "n_embd": 8, "n_layer": 1},
            "dataset": {"address": result.address, "format": "token-shards"},
            "optimizer": {"name": "adamw", "lr": 0.01},
            "batch_size": 2, "steps": 4, "checkpoint_every": 2,
        }
    )  # fmt: skip
    store.put(spec.canonical_json())
    job = replace(CLAIMED_JOB, spec_hash=spec.spec_hash())
    blobs = dataset_blobs(store, result.address, "token-shards")
    shards = [s.address for s in result.manifest.shards]
    assert len(shards) > 1 and blobs == [
        result.address,
        *shards,
        result.manifest.tokenizer["address"],
    ]
    salt = b"\x05" * 32
    expected = blake3(salt + b"".join(store.get(a) for a in blobs)).digest()
    assert dataset_digest(store, job, salt) == expected

    last = store.path(shards[-1])
    data = last.read_bytes()
    last.write_bytes(data[:-2])  # truncated shard
    assert dataset_digest(store, job, salt) == UNAVAILABLE
    last.unlink()  # missing shard
    assert dataset_digest(store, job, salt) == UNAVAILABLE
    last.write_bytes(data)
    assert dataset_digest(store, job, salt) == expected
    store.path(result.manifest.tokenizer["address"]).unlink()  # the tokenizer shipped with it
    assert dataset_digest(store, job, salt) == UNAVAILABLE
