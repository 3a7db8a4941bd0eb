"""The architecture registry: ``mlp``, ``cnn``, ``gpt``, ``llama`` → (config dataclass, model class)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.runtime.models.base import Model, StepContext, initial_parameters
from node.runtime.models.cnn import CNN, CNNConfig
from node.runtime.models.gpt import GPT, GPTConfig
from node.runtime.models.llama import Llama, LlamaConfig
from node.runtime.models.mlp import MLP, MLPConfig
from node.runtime.ops import Ops

ARCHITECTURES: dict[str, tuple[type[Any], type[Model]]] = {
    "mlp": (MLPConfig, MLP),
    "cnn": (CNNConfig, CNN),
    "gpt": (GPTConfig, GPT),
    "llama": (LlamaConfig, Llama),
}

__all__ = ["ARCHITECTURES", "Model", "StepContext", "build_model", "initial_parameters"]


def build_model(architecture: str, hparams: Mapping[str, Any], ops: Ops) -> Model:
    """The model ``architecture`` with hyper-parameters ``hparams`` (already validated by the spec)."""
    config_cls, model_cls = ARCHITECTURES[architecture]
    return model_cls(config_cls(**hparams), ops)
