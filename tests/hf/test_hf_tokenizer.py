"""The dataset's tokenizer ships with the exported model; datasets without one export the model alone."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from node.errors import SpecError
from node.hf.export import export_model
from node.hf.importer import import_checkpoint
from node.hf.tokenizer import DatasetTokenizer, dataset_tokenizer
from node.storage import LocalBlobStore
from node.training.prepare import Source, prepare_dataset
from node.training.session import TrainingSession
from node.training.shards import parse_manifest
from node.training.spec import DatasetSpec
from node.training.text_tokenizer import (
    BYTE_EOS,
    TextTokenizer,
    byte_tokenizer,
    load_tokenizer,
    train_bpe,
)

from .hf_kit import init_spec, save, tiny_llama, transformers

tokenizers = pytest.importorskip("tokenizers")


def tokenizer_json() -> bytes:
    vocab = {"<|endoftext|>": 0, "[UNK]": 1, **{ch: i + 2 for i, ch in enumerate("abcdefgh ")}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Split("", "isolated")
    return tok.to_str().encode()


def prepared(store: LocalBlobStore, tmp_path: Path, tokenizer: TextTokenizer) -> str:
    """A ``token-shards`` dataset made by ``data prepare``'s code with ``tokenizer``."""
    text = tmp_path / "corpus.txt"
    text.write_text("bad cafe\n" * 50 + "face a bead\n" * 50, encoding="utf-8")
    return prepare_dataset(
        [Source("text", text)], tokenizer, store, name="corpus", progress=False
    ).address


def with_extra_file(store: LocalBlobStore, address: str, name: str, raw: bytes) -> str:
    """The same dataset manifest with one more tokenizer file listed (canonical, as prepared)."""
    manifest = parse_manifest(store.get(address), "test")
    files = {**manifest.tokenizer.get("files", {}), name: store.put(raw)}
    changed = dataclasses.replace(manifest, tokenizer={**manifest.tokenizer, "files": files})
    return store.put(changed.canonical_json())


def test_export_ships_the_dataset_tokenizer(tmp_path: Path, store: LocalBlobStore) -> None:
    raw = tokenizer_json()
    config = json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>"}
    )
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer.json").write_bytes(raw)
    (folder / "tokenizer_config.json").write_text(config)
    dataset = with_extra_file(
        store, prepared(store, tmp_path, load_tokenizer(str(folder))), "evil/../x", b"!"
    )
    imported = import_checkpoint(save(tiny_llama(), tmp_path / "in"), store)
    spec = init_spec(
        imported.model, imported.address, dataset={"address": dataset, "format": "token-shards"}
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
    byte_level = DatasetSpec(
        address=prepared(store, tmp_path, byte_tokenizer()), format="token-shards"
    )
    assert dataset_tokenizer(store, byte_level) == DatasetTokenizer(BYTE_EOS, {})
    imported = import_checkpoint(save(tiny_llama(), tmp_path / "in"), store)
    spec = init_spec(imported.model, imported.address)  # the example text dataset (safetensors)
    assert dataset_tokenizer(store, spec.dataset) is None
    bad = with_extra_file(store, byte_level.address, "tokenizer.json", b"")
    body = json.loads(store.get(bad))
    body["tokenizer"]["files"]["tokenizer.json"] = 7
    bad = store.put(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    with pytest.raises(SpecError, match=r"tokenizer file tokenizer\.json has no address"):
        dataset_tokenizer(store, DatasetSpec(address=bad, format="token-shards"))


def test_a_prepared_bpe_dataset_ships_its_tokenizer(tmp_path: Path, store: LocalBlobStore) -> None:
    """The whole path a newcomer takes: a BPE tokenizer trained on their text, the text prepared
    with it, a llama fine-tuned on it, exported: transformers' tokenizer gives the ids we trained on."""
    text = tmp_path / "corpus.txt"
    text.write_text("the miller counted sacks of grain by the river\n" * 40, encoding="utf-8")
    vocab = train_bpe([text], 300, tmp_path / "tok" / "tokenizer.json")
    tokenizer = load_tokenizer(str(tmp_path / "tok"))
    prepared_bpe = prepare_dataset(
        [Source("text", text)], tokenizer, store, name="corpus", progress=False
    )
    imported = import_checkpoint(save(tiny_llama(vocab_size=vocab), tmp_path / "in"), store)
    spec = init_spec(
        imported.model,
        imported.address,
        dataset={"address": prepared_bpe.address, "format": "token-shards"},
    )
    params = TrainingSession(spec, None, store=store).initial_state().params
    out = export_model(spec, params, store, tmp_path / "out")
    loaded = transformers.AutoTokenizer.from_pretrained(out)
    sample = "the miller counted grain"
    assert loaded(sample)["input_ids"] == [int(i) for i in tokenizer.encode_batch([sample])[0]]
    # A bare tokenizer.json ships with a config naming its EOS, so generate() stops there.
    assert (loaded.eos_token, loaded.eos_token_id) == ("<|endoftext|>", tokenizer.eos_id)
    assert json.loads((out / "config.json").read_text())["eos_token_id"] == tokenizer.eos_id
