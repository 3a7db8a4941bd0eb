"""Helpers shared by the token-shard tests: a small corpus, a prepared dataset and a gpt spec on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from node.storage import LocalBlobStore
from node.training.prepare import PrepareResult, Source, prepare_dataset
from node.training.spec import JobSpec, parse_spec
from node.training.text_tokenizer import TextTokenizer, byte_tokenizer

DOCS = [
    "The river ran past the mill, and the miller counted sacks of grain.\n" * 30,
    "Ships left the harbour at dawn; gulls followed them out to sea.\n" * 30,
    "Une rivière, des moulins et un café où l'on parle de tout.\n" * 20,
]


def write_docs(folder: Path, docs: list[str] = DOCS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, doc in enumerate(docs):
        path = folder / f"doc{i}.txt"
        path.write_text(doc, encoding="utf-8")
        paths.append(path)
    return paths


def prepare(
    store: LocalBlobStore,
    paths: list[Path],
    tokenizer: TextTokenizer | None = None,
    **options: Any,
) -> PrepareResult:
    options.setdefault("validation_fraction", 0.1)
    options.setdefault("shard_tokens", 1000)
    return prepare_dataset(
        [Source("text", p) for p in paths],
        tokenizer or byte_tokenizer(),
        store,
        name="docs",
        progress=False,
        **options,
    )


def gpt_spec(address: str, vocab_size: int = 257, **changes: Any) -> JobSpec:
    """A 8-step gpt job, K = 4, on a ``token-shards`` dataset."""
    data: dict[str, Any] = {
        "model": {
            "architecture": "gpt",
            "vocab_size": vocab_size,
            "block_size": 16,
            "n_layer": 1,
            "n_head": 2,
            "n_embd": 16,
        },
        "dataset": {"address": address, "format": "token-shards"},
        "optimizer": {"name": "adamw", "lr": 0.003},
        "batch_size": 4,
        "steps": 8,
        "checkpoint_every": 4,
        "seed": 5,
        "runtime": "repro-v1",
    }
    data.update(changes)
    return parse_spec(data)
