"""``ReproOps``: the ``repro-v1`` runtime, every op reproducible bit for bit across hardware."""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
from torch import Tensor

from node.runtime.repro.functions_gemm import Conv2d, Linear, Matmul
from node.runtime.repro.functions_index import Embedding, MaxPool2d
from node.runtime.repro.functions_norm import (
    CrossEntropy,
    LayerNorm,
    LogSoftmax,
    RMSNorm,
    Softmax,
    Sum,
)
from node.runtime.repro.functions_pointwise import Dropout, Gelu, Relu, Silu, Sqrt, Tanh


def _apply(fn: type[torch.autograd.Function], *args: object) -> Tensor:
    return cast(Tensor, fn.apply(*args))


class ReproOps:
    """Implements ``node.runtime.ops.Ops`` (docs/RUNTIME.md); inputs are float32 tensors."""

    name = "repro-v1"

    def linear(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        return _apply(Linear, x, weight, bias)

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        return _apply(Matmul, a, b)

    def conv2d(
        self, x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int
    ) -> Tensor:
        return _apply(Conv2d, x, weight, bias, stride, padding)

    def max_pool2d(self, x: Tensor, kernel: int) -> Tensor:
        return _apply(MaxPool2d, x, kernel)

    def embedding(self, ids: Tensor, weight: Tensor) -> Tensor:
        return _apply(Embedding, ids, weight)

    def layer_norm(self, x: Tensor, weight: Tensor, bias: Tensor | None, eps: float) -> Tensor:
        return _apply(LayerNorm, x, weight, bias, eps)

    def rms_norm(self, x: Tensor, weight: Tensor, eps: float) -> Tensor:
        return _apply(RMSNorm, x, weight, eps)

    def softmax(self, x: Tensor, dim: int) -> Tensor:
        return _apply(Softmax, x, dim)

    def log_softmax(self, x: Tensor, dim: int) -> Tensor:
        return _apply(LogSoftmax, x, dim)

    def cross_entropy(self, logits: Tensor, targets: Tensor) -> Tensor:
        return _apply(CrossEntropy, logits, targets)

    def gelu(self, x: Tensor) -> Tensor:
        return _apply(Gelu, x)

    def silu(self, x: Tensor) -> Tensor:
        return _apply(Silu, x)

    def tanh(self, x: Tensor) -> Tensor:
        return _apply(Tanh, x)

    def relu(self, x: Tensor) -> Tensor:
        return _apply(Relu, x)

    def dropout(self, x: Tensor, p: float, keep_mask: Tensor | None) -> Tensor:
        if keep_mask is None or p == 0.0:
            return x
        scale = float(np.float32(1.0 / (1.0 - p)))
        return _apply(Dropout, x, scale, keep_mask)

    def sum(self, x: Tensor, dim: int | None = None) -> Tensor:
        return _apply(Sum, x, dim)

    def sqrt(self, x: Tensor) -> Tensor:
        return _apply(Sqrt, x)
