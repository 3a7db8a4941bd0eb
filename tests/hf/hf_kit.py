"""Tiny random Hugging Face Llama checkpoints made with ``transformers`` (the optional extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from node.storage import address_of
from node.training.data import text_blob
from node.training.spec import JobSpec, parse_spec

transformers = pytest.importorskip("transformers")

TINY: dict[str, Any] = {
    "vocab_size": 64,
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 64,
    "rms_norm_eps": 1e-5,
    "rope_theta": 500.0,
}


def tiny_llama(tied: bool = False, seed: int = 0, **changes: Any) -> Any:
    """A randomly initialized ``LlamaForCausalLM`` (float32, eager attention)."""
    config = transformers.LlamaConfig(**{**TINY, **changes}, tie_word_embeddings=tied)
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(config)
    with torch.no_grad():  # norms start at 1 in HF; random ones test that they are carried over
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    return model.eval()


def save(model: Any, folder: Path, shard: str | None = None) -> Path:
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(folder, **kwargs)
    return folder


def state_dict(model: Any) -> dict[str, torch.Tensor]:
    """The tensors ``save_pretrained`` writes (the tied head is not a tensor of its own)."""
    sd = {n: t.detach().clone() for n, t in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    return sd


def init_spec(model: dict[str, Any], address: str, **changes: Any) -> JobSpec:
    data: dict[str, Any] = {
        "model": {**model, "block_size": 16},
        "dataset": {"address": address_of(text_blob()), "format": "tokens"},
        "optimizer": {"name": "adamw", "lr": 0.01},
        "batch_size": 4,
        "steps": 4,
        "checkpoint_every": 2,
        "init": {"address": address},
    }
    data.update(changes)
    return parse_spec(data)
