"""A small convolutional classifier: [conv → ReLU → 2x2 max-pool] x L, then a two-layer head."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from torch import Tensor, nn

from node.runtime.models.base import Model, StepContext
from node.runtime.models.layers import Conv2d, Linear
from node.runtime.ops import Ops


@dataclass(frozen=True)
class CNNConfig:
    in_channels: int = 1
    image_size: int = 8
    channels: list[int] = field(default_factory=lambda: [8, 16])
    kernel_size: int = 3
    hidden: int = 64
    num_classes: int = 10


class CNN(Model):
    def __init__(self, config: CNNConfig, ops: Ops) -> None:
        super().__init__()
        self.config = config
        self.ops = ops
        chans = [config.in_channels, *config.channels]
        self.convs = nn.ModuleList(
            Conv2d(ops, a, b, config.kernel_size) for a, b in itertools.pairwise(chans)
        )
        side = config.image_size >> len(config.channels)
        self.fc = Linear(ops, chans[-1] * side * side, config.hidden)
        self.head = Linear(ops, config.hidden, config.num_classes)

    def forward(self, x: Tensor, y: Tensor, ctx: StepContext) -> Tensor:
        c = self.config
        h = x.reshape(x.shape[0], c.in_channels, c.image_size, c.image_size)
        for conv in self.convs:
            h = self.ops.max_pool2d(self.ops.relu(conv(h)), 2)
        h = self.ops.relu(self.fc(h.reshape(h.shape[0], -1)))
        return self.ops.cross_entropy(self.head(h), y)
