"""config.json ⇄ the spec's llama section: what is accepted, and each refusal named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from node.errors import SpecError
from node.hf.config import hf_config, model_section

from .hf_kit import save, tiny_llama

V4_CONFIG: dict[str, Any] = {  # the transformers 4 spelling: rope_theta at the top, rope_scaling
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_act": "silu",
    "hidden_size": 64,
    "intermediate_size": 172,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-6,
    "rope_scaling": None,
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "vocab_size": 128,
    "max_position_embeddings": 4096,
    "torch_dtype": "bfloat16",
}


def test_a_transformers_config_maps_to_the_llama_section(tmp_path: Path) -> None:
    folder = save(tiny_llama(tied=True), tmp_path / "m")
    section = model_section(json.loads((folder / "config.json").read_text()))
    assert section == {
        "architecture": "llama",
        "vocab_size": 64,
        "hidden_size": 32,
        "intermediate_size": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500.0,
        "max_position_embeddings": 64,
        "tie_word_embeddings": True,
        "block_size": 64,
    }


def test_v4_config_and_the_round_trip() -> None:
    section = model_section(V4_CONFIG)
    assert (section["rope_theta"], section["block_size"], section["tie_word_embeddings"]) == (
        500000.0,
        256,
        True,
    )
    assert model_section(hf_config(section)) == section
    mha = {k: v for k, v in V4_CONFIG.items() if k != "num_key_value_heads"}
    assert model_section(mha)["num_key_value_heads"] == 4  # absent: multi-head attention


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_type": "mistral"}, "model_type 'mistral' is not supported"),
        ({"architectures": ["LlamaForSequenceClassification"]}, "architectures"),
        ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "kind 'llama3' is not impl"),
        ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4}}, "kind 'yarn' is not impl"),
        ({"head_dim": 32}, "head_dim 32 differs from hidden_size / num_attention_heads = 16"),
        ({"attention_bias": True}, "attention_bias=True is not supported"),
        ({"hidden_act": "gelu"}, "hidden_act='gelu' is not supported"),
        ({"attention_dropout": 0.1}, "attention_dropout=0.1 is not supported"),
        ({"hidden_size": "64"}, "hidden_size must be a positive integer"),
        ({"num_attention_heads": 5}, "num_attention_heads 5 does not divide hidden_size 64"),
        ({"tie_word_embeddings": "yes"}, "tie_word_embeddings must be true or false"),
    ],
)
def test_unsupported_configs_are_refused_by_name(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        model_section({**V4_CONFIG, **change})


def test_only_llama_sections_export() -> None:
    with pytest.raises(SpecError, match="only llama models export"):
        hf_config({"architecture": "gpt"})
