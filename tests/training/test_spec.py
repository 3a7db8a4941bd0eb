"""Job spec validation, canonical JSON and specHash."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from node.errors import SpecError
from node.runtime.models import ARCHITECTURES
from node.training.spec import ARCHITECTURE_NAMES, load_spec, parse_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"

BASE: dict[str, Any] = {
    "model": {"architecture": "mlp", "hidden": [16]},
    "dataset": {"address": "sha256:" + "ab" * 32, "format": "classification"},
    "optimizer": {"name": "adamw", "lr": 0.001},
    "batch_size": 8,
    "steps": 20,
    "checkpoint_every": 5,
}


LLAMA: dict[str, Any] = {
    "architecture": "llama",
    "vocab_size": 64,
    "hidden_size": 64,
    "intermediate_size": 172,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 64,
    "block_size": 32,
}


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("model.architecture", "resnet", "model: unknown architecture 'resnet'"),
        ("steps", 21, r"steps \(21\) must be a multiple of checkpoint_every \(5\)"),
        ("checkpoint_every", 1, "checkpoint_every: Input should be greater than or equal to 2"),
        ("steps", 0, "steps: Input should be greater than or equal to 1"),
        ("steps", "20", "steps: Input should be a valid integer"),
        ("optimizer.lr", 0, "optimizer.lr: Input should be greater than 0"),
        ("optimizer.lr", float("inf"), "optimizer.lr: Input should be a finite number"),
        ("optimizer.name", "lion", "optimizer: unknown optimizer 'lion'"),
        ("optimizer.betas", [0.9, 1.0], "optimizer.betas.1"),
        ("batch_size", 0, "batch_size"),
        ("seed", -1, "seed"),
        ("runtime", "cuda", "runtime"),
        ("sample_rate", 0, "sample_rate"),
        ("dataset.address", "sha256:xyz", "dataset.address"),
        ("dataset.format", "tokens", "does not fit architecture 'mlp'"),
        ("model.hidden", [0], "model.hidden.0"),
        ("extra_field", 1, "extra_field: Extra inputs are not permitted"),
        (
            "model",
            {"architecture": "gpt", "vocab_size": 10, "n_head": 3},
            "n_head 3 must divide n_embd 64",
        ),
        ("model", {"architecture": "cnn", "image_size": 6}, "image_size 6 must be divisible by 2"),
        ("model", {**LLAMA, "num_key_value_heads": 3}, "num_key_value_heads 3 must divide"),
        ("model", {**LLAMA, "num_key_value_heads": 8}, "num_key_value_heads 8 must divide"),
        ("model", {**LLAMA, "num_attention_heads": 5}, "num_attention_heads 5 must divide"),
        (
            "model",
            {**LLAMA, "hidden_size": 12, "num_attention_heads": 4},
            "head_dim 3 must be even",
        ),
        ("model", {**LLAMA, "block_size": 65}, "block_size 65 exceeds max_position_embeddings 64"),
        ("model", {**LLAMA, "rms_norm_eps": 0}, "model.rms_norm_eps"),
        ("model", {**LLAMA, "bias": True}, "model.bias: Extra inputs are not permitted"),
        ("model", {"architecture": "cnn", "kernel_size": 4}, "kernel_size must be odd"),
    ],
)
def test_invalid_fields_name_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(_with(path, value))


def test_canonical_json_is_stable_and_hash_matches() -> None:
    spec = parse_spec(BASE)
    raw = spec.canonical_json()
    assert b" " not in raw and json.loads(raw) == json.loads(raw.decode())
    assert list(json.loads(raw)) == sorted(json.loads(raw))
    assert spec.spec_hash() == hashlib.sha256(raw).digest()
    assert spec.address() == "sha256:" + spec.spec_hash().hex()
    again = load_spec(raw)
    assert again.canonical_json() == raw
    # key order and int-vs-float spelling of the input do not matter
    shuffled = dict(reversed(list(_with("optimizer.lr", 0.001).items())))
    assert parse_spec(shuffled).spec_hash() == spec.spec_hash()
    assert parse_spec(_with("optimizer.weight_decay", 0)).spec_hash() == spec.spec_hash()


def test_golden_spec_hash() -> None:
    """Pins the canonical form: a change here changes every specHash, so it must be deliberate."""
    assert parse_spec(BASE).spec_hash().hex()[:16] == GOLDEN_PREFIX


GOLDEN_PREFIX = "1bbddc41f7548399"


def test_toml_and_json_give_the_same_spec(tmp_path: Path) -> None:
    toml = tmp_path / "spec.toml"
    toml.write_text(
        "batch_size = 8\nsteps = 20\ncheckpoint_every = 5\n"
        '[model]\narchitecture = "mlp"\nhidden = [16]\n'
        f'[dataset]\naddress = "sha256:{"ab" * 32}"\nformat = "classification"\n'
        '[optimizer]\nname = "adamw"\nlr = 0.001\n'
    )
    assert load_spec(toml).spec_hash() == parse_spec(BASE).spec_hash()


def test_unreadable_and_malformed_specs(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read job spec"):
        load_spec(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec(bad)


def test_overrides_revalidate() -> None:
    spec = parse_spec(BASE)
    assert spec.with_overrides(steps=40).steps == 40
    with pytest.raises(SpecError, match="multiple of checkpoint_every"):
        spec.with_overrides(steps=42)


def test_registry_matches_spec_names() -> None:
    assert set(ARCHITECTURES) == set(ARCHITECTURE_NAMES)


@pytest.mark.parametrize("name", ["mlp_digits", "cnn_digits", "gpt_text", "llama_text"])
def test_example_specs_are_valid(name: str) -> None:
    spec = load_spec(EXAMPLES / f"{name}.json")
    assert spec.steps == 200 and spec.segments == 10
