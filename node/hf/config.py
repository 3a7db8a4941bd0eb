"""Hugging Face ``config.json`` ⇄ the spec's ``llama`` model section.

Import accepts what the ``llama`` model computes and nothing else: ``LlamaForCausalLM`` with SiLU,
no biases, default RoPE, ``head_dim = hidden_size / num_attention_heads``. Anything else (another
architecture, ``rope_scaling``/``rope_parameters`` of another kind such as ``llama3`` or ``yarn``,
attention dropout) is refused with the field named, since training it would silently compute a
different model. Both ``rope_theta`` spellings are read: top-level (transformers 4) and inside
``rope_parameters`` (transformers 5); export writes both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.errors import SpecError

ARCHITECTURE = "llama"
HF_ARCHITECTURE = "LlamaForCausalLM"
DEFAULT_BLOCK_SIZE = 256
_REQUIRED_INTS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
)


def _int(config: Mapping[str, Any], key: str, what: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"{what}: {key} must be a positive integer, got {value!r}")
    return value


def _float(config: Mapping[str, Any], key: str, what: str, default: float) -> float:
    value = config.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise SpecError(f"{what}: {key} must be a number, got {value!r}")
    return float(value)


def _rope_theta(config: Mapping[str, Any], what: str) -> float:
    params = config.get("rope_parameters")
    scaling = config.get("rope_scaling")
    for key, section in (("rope_parameters", params), ("rope_scaling", scaling)):
        if section is None:
            continue
        if not isinstance(section, dict):
            raise SpecError(f"{what}: {key} must be an object, got {section!r}")
        kind = section.get("rope_type", section.get("type", "default"))
        if kind != "default":
            raise SpecError(
                f"{what}: {key} kind {kind!r} is not implemented (only the default RoPE is)"
            )
    if isinstance(params, dict) and "rope_theta" in params:
        return _float(params, "rope_theta", what, 10000.0)
    return _float(config, "rope_theta", what, 10000.0)


def _require(config: Mapping[str, Any], key: str, allowed: tuple[Any, ...], what: str) -> None:
    if key in config and config[key] not in allowed:
        raise SpecError(
            f"{what}: {key}={config[key]!r} is not supported (crowdtrain's llama needs "
            f"{' or '.join(repr(a) for a in allowed)})"
        )


def model_section(config: Mapping[str, Any], what: str = "config.json") -> dict[str, Any]:
    """The spec's ``model`` section for a Hugging Face Llama config; SpecError when unsupported."""
    if not isinstance(config, Mapping):
        raise SpecError(f"{what} must be a JSON object")
    model_type = config.get("model_type")
    if model_type != ARCHITECTURE:
        raise SpecError(
            f"{what}: model_type {model_type!r} is not supported (only 'llama', {HF_ARCHITECTURE})"
        )
    architectures = config.get("architectures")
    if architectures is not None and architectures != [HF_ARCHITECTURE]:
        raise SpecError(f"{what}: architectures {architectures!r} is not [{HF_ARCHITECTURE!r}]")
    _require(config, "hidden_act", ("silu",), what)
    _require(config, "attention_bias", (False,), what)
    _require(config, "mlp_bias", (False,), what)
    _require(config, "pretraining_tp", (1,), what)
    _require(config, "attention_dropout", (0, 0.0), what)
    ints = {key: _int(config, key, what) for key in _REQUIRED_INTS}
    heads = ints["num_attention_heads"]
    kv_heads = _int(config, "num_key_value_heads", what, heads)
    if ints["hidden_size"] % heads:
        raise SpecError(
            f"{what}: num_attention_heads {heads} does not divide hidden_size {ints['hidden_size']}"
        )
    head_dim = config.get("head_dim")
    if head_dim is not None and head_dim != ints["hidden_size"] // heads:
        raise SpecError(
            f"{what}: head_dim {head_dim!r} differs from hidden_size / num_attention_heads = "
            f"{ints['hidden_size'] // heads}: not supported"
        )
    max_positions = _int(config, "max_position_embeddings", what, 2048)
    tied = config.get("tie_word_embeddings", False)
    if not isinstance(tied, bool):
        raise SpecError(f"{what}: tie_word_embeddings must be true or false, got {tied!r}")
    return {
        "architecture": ARCHITECTURE,
        **ints,
        "num_key_value_heads": kv_heads,
        "rms_norm_eps": _float(config, "rms_norm_eps", what, 1e-6),
        "rope_theta": _rope_theta(config, what),
        "max_position_embeddings": max_positions,
        "tie_word_embeddings": tied,
        "block_size": min(DEFAULT_BLOCK_SIZE, max_positions),
    }


def hf_config(
    model: Mapping[str, Any],
    *,
    bos_token_id: int | None = None,
    eos_token_id: int | None = None,
) -> dict[str, Any]:
    """``config.json`` of ``LlamaForCausalLM`` for the spec's llama model section (float32 weights)."""
    if model.get("architecture") != ARCHITECTURE:
        raise SpecError(
            f"only llama models export to the Hugging Face format, not {model.get('architecture')!r}"
        )
    config: dict[str, Any] = {
        "architectures": [HF_ARCHITECTURE],
        "model_type": ARCHITECTURE,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "dtype": "float32",
        "torch_dtype": "float32",
        "head_dim": model["hidden_size"] // model["num_attention_heads"],
        "hidden_act": "silu",
        "mlp_bias": False,
        "pretraining_tp": 1,
        "rope_parameters": {"rope_theta": model["rope_theta"], "rope_type": "default"},
        "rope_scaling": None,
        "use_cache": True,
    }
    for key in (
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "rms_norm_eps",
        "rope_theta",
        "max_position_embeddings",
        "tie_word_embeddings",
    ):
        config[key] = model[key]
    if bos_token_id is not None:
        config["bos_token_id"] = bos_token_id
    if eos_token_id is not None:
        config["eos_token_id"] = eos_token_id
    return dict(sorted(config.items()))
