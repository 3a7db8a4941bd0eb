"""The dataset's tokenizer ships with the exported model; datasets without one export the model alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from node.errors import SpecError
from node.hf.export import export_model
from node.hf.importer import import_checkpoint
from node.hf.tokenizer import dataset_tokenizer
from node.storage import LocalBlobStore
from node.training.session import TrainingSession

from .hf_kit import init_spec, save, tiny_llama, transformers

tokenizers = pytest.importorskip("tokenizers")


def tokenizer_json() -> bytes:
    vocab = {"<|endoftext|>": 0, "[UNK]": 1, **{ch: i + 2 for i, ch in enumerate("abcdefgh ")}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Split("", "isolated")
    return tok.to_str().encode()


def token_shards_manifest(store: LocalBlobStore, files: dict[str, bytes] | None) -> str:
    """A dataset manifest as ``data prepare`` writes it (only the fields export reads matter)."""
    tokenizer: dict[str, object] = {"kind": "tokenizers" if files else "byte"}
    if files:
        addresses = {n: store.put(raw) for n, raw in files.items()}
        tokenizer |= {"address": addresses["tokenizer.json"], "files": addresses}
    manifest = {"format": "token-shards", "version": 1, "eos_id": 0, "tokenizer": tokenizer}
    return store.put(json.dumps(manifest, sort_keys=True).encode())


def test_export_ships_the_dataset_tokenizer(tmp_path: Path, store: LocalBlobStore) -> None:
    raw = tokenizer_json()
    config = json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>"}
    )
    dataset = token_shards_manifest(
        store, {"tokenizer.json": raw, "tokenizer_config.json": config.encode(), "evil/../x": b"!"}
    )
    imported = import_checkpoint(save(tiny_llama(), tmp_path / "in"), store)
    spec = init_spec(
        imported.model, imported.address, dataset={"address": dataset, "format": "tokens"}
    )
    params = TrainingSession(spec, None, store=store).initial_state().params
    out = export_model(spec, params, store, tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert (out / "tokenizer.json").read_bytes() == raw
    assert json.loads((out / "config.json").read_text())["eos_token_id"] == 0
    tok = transformers.AutoTokenizer.from_pretrained(out)
    ids = tok("bad cafe")["input_ids"]
    assert ids == [3, 2, 5, 10, 4, 2, 7, 6]
    model = transformers.AutoModelForCausalLM.from_pretrained(out)
    assert model(torch.tensor([ids])).logits.shape == (1, 8, 64)


def test_datasets_without_a_tokenizer_export_the_model_alone(
    tmp_path: Path,
    store: LocalBlobStore,
) -> None:
    byte_level = token_shards_manifest(store, None)
    assert dataset_tokenizer(store, byte_level) is not None
    assert dataset_tokenizer(store, byte_level).files == {}  # type: ignore[union-attr]
    imported = import_checkpoint(save(tiny_llama(), tmp_path / "in"), store)
    spec = init_spec(imported.model, imported.address)  # the example text dataset (safetensors)
    assert dataset_tokenizer(store, spec.dataset.address) is None
    bad = store.put(
        json.dumps(
            {"format": "token-shards", "tokenizer": {"files": {"tokenizer.json": 7}}}
        ).encode()
    )
    with pytest.raises(SpecError, match=r"tokenizer file tokenizer\.json has no address"):
        dataset_tokenizer(store, bad)
