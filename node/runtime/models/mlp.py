"""A multi-layer perceptron classifier (flattened inputs, ReLU/tanh/GELU hidden layers)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from torch import Tensor, nn

from node.runtime.models.base import Model, StepContext
from node.runtime.models.layers import Linear
from node.runtime.ops import Ops


@dataclass(frozen=True)
class MLPConfig:
    input_dim: int = 64
    hidden: list[int] = field(default_factory=lambda: [64])
    num_classes: int = 10
    activation: str = "relu"


class MLP(Model):
    def __init__(self, config: MLPConfig, ops: Ops) -> None:
        super().__init__()
        self.config = config
        self.ops = ops
        dims = [config.input_dim, *config.hidden, config.num_classes]
        self.layers = nn.ModuleList(Linear(ops, a, b) for a, b in itertools.pairwise(dims))

    def _act(self, x: Tensor) -> Tensor:
        if self.config.activation == "tanh":
            return self.ops.tanh(x)
        if self.config.activation == "gelu":
            return self.ops.gelu(x)
        return self.ops.relu(x)

    def forward(self, x: Tensor, y: Tensor, ctx: StepContext) -> Tensor:
        h = x.reshape(x.shape[0], -1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = self._act(h)
        return self.ops.cross_entropy(h, y)
