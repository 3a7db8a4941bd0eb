"""Parameter-holding layers written against ``Ops``, each declaring how its parameters start.

Layers hold ``nn.Parameter`` tensors only as named slots (the values come from
``initial_parameters`` and are swapped in per step with ``torch.func.functional_call``), and compute
only through ``ops.*`` so a runtime can replace every kernel. Rule for model code: never let autograd
reduce a broadcast (e.g. ``x + bias`` with ``bias`` requiring grad) outside an op, since that
reduction's order would escape the runtime; biases go through ``ops.linear``/``ops.conv2d``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from node.runtime.ops import Ops


@dataclass(frozen=True)
class InitRule:
    """How one parameter starts: ``zeros``, ``ones`` or ``uniform`` on ``[-bound, bound)``."""

    kind: str
    bound: float = 0.0


ZEROS = InitRule("zeros")
ONES = InitRule("ones")


def uniform_std(std: float) -> InitRule:
    """Uniform init with standard deviation ``std`` (bound = std·√3)."""
    return InitRule("uniform", std * math.sqrt(3.0))


class Layer(nn.Module):
    """A module that owns parameters and knows their init rules."""

    def init_rules(self) -> dict[str, InitRule]:
        raise NotImplementedError


def _slot(*shape: int) -> nn.Parameter:
    return nn.Parameter(torch.zeros(*shape, dtype=torch.float32))


class Linear(Layer):
    """``y = x Wᵀ + b``; default init uniform ±1/√fan_in (PyTorch's scale)."""

    def __init__(
        self, ops: Ops, d_in: int, d_out: int, bias: bool = True, std: float | None = None
    ) -> None:
        super().__init__()
        self.ops = ops
        self.weight = _slot(d_out, d_in)
        self.bias = _slot(d_out) if bias else None
        bound = 1.0 / math.sqrt(d_in)
        self._rule = uniform_std(std) if std is not None else InitRule("uniform", bound)

    def init_rules(self) -> dict[str, InitRule]:
        rules = {"weight": self._rule}
        if self.bias is not None:
            rules["bias"] = ZEROS
        return rules

    def forward(self, x: Tensor) -> Tensor:
        return self.ops.linear(x, self.weight, self.bias)


class Conv2d(Layer):
    """Square-kernel, stride-1, same-padding convolution (NCHW)."""

    def __init__(self, ops: Ops, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.ops = ops
        self.padding = kernel // 2
        self.weight = _slot(c_out, c_in, kernel, kernel)
        self.bias = _slot(c_out)
        self._bound = 1.0 / math.sqrt(c_in * kernel * kernel)

    def init_rules(self) -> dict[str, InitRule]:
        return {"weight": InitRule("uniform", self._bound), "bias": ZEROS}

    def forward(self, x: Tensor) -> Tensor:
        return self.ops.conv2d(x, self.weight, self.bias, 1, self.padding)


class Embedding(Layer):
    """A lookup table, init with std 0.02 as in GPT-2."""

    def __init__(self, ops: Ops, count: int, dim: int) -> None:
        super().__init__()
        self.ops = ops
        self.weight = _slot(count, dim)

    def init_rules(self) -> dict[str, InitRule]:
        return {"weight": uniform_std(0.02)}

    def forward(self, ids: Tensor) -> Tensor:
        return self.ops.embedding(ids, self.weight)


class LayerNorm(Layer):
    """LayerNorm over the last dim with an optional bias."""

    def __init__(self, ops: Ops, dim: int, bias: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.ops = ops
        self.eps = eps
        self.weight = _slot(dim)
        self.bias = _slot(dim) if bias else None

    def init_rules(self) -> dict[str, InitRule]:
        rules = {"weight": ONES}
        if self.bias is not None:
            rules["bias"] = ZEROS
        return rules

    def forward(self, x: Tensor) -> Tensor:
        return self.ops.layer_norm(x, self.weight, self.bias, self.eps)


class RMSNorm(Layer):
    """``weight * (x * rsqrt(mean(x²) + eps))`` over the last dim; weight starts at ones."""

    def __init__(self, ops: Ops, dim: int, eps: float) -> None:
        super().__init__()
        self.ops = ops
        self.eps = float(np.float32(eps))  # rounded once, a scalar operand on any device
        self.weight = _slot(dim)

    def init_rules(self) -> dict[str, InitRule]:
        return {"weight": ONES}

    def forward(self, x: Tensor) -> Tensor:
        return self.ops.rms_norm(x, self.weight, self.eps)
