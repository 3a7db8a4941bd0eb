"""Autograd functions for elementwise ops: gelu (tanh approximation), tanh, relu, dropout, sqrt.

Elementwise IEEE ops are reproducible as long as each is its own kernel; the only library functions
they would need (tanh) come from ``transcendental``. NaN propagates through relu.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from node.runtime.repro import transcendental as T

GELU_C = float(np.float32(math.sqrt(2.0 / math.pi)))
GELU_A = float(np.float32(0.044715))
GELU_3A = float(np.float32(3.0 * 0.044715))


class Gelu(torch.autograd.Function):
    """0.5 x (1 + tanh(c (x + a x³)))."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        # In-place chains on temporaries; + and * are commutative in IEEE, so t + x is x + t bitwise.
        inner = (x * x).mul_(x).mul_(GELU_A).add_(x).mul_(GELU_C)
        t = T.tanh(inner)
        ctx.save_for_backward(x, t)
        return (x * 0.5).mul_(t + 1.0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        x: Tensor
        t: Tensor
        x, t = ctx.saved_tensors
        dinner = (x * x).mul_(GELU_3A).add_(1.0).mul_(GELU_C)
        one_minus_t2 = (t * t).neg_().add_(1.0)  # -(t*t) + 1 is 1 - t*t bitwise
        slope = (t + 1.0).mul_(0.5).add_((x * 0.5).mul_(one_minus_t2).mul_(dinner))
        return slope.mul_(grad)


class Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        y = T.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        y: Tensor = ctx.saved_tensors[0]
        return grad * (1.0 - y * y)


class Relu(torch.autograd.Function):
    """``where`` instead of a vectorized max: max(-0.0, 0.0) may return either zero."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        keep = (x > 0) | torch.isnan(x)
        ctx.save_for_backward(keep)
        return torch.where(keep, x, 0.0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (keep,) = ctx.saved_tensors
        return torch.where(keep, grad, 0.0)


class Dropout(torch.autograd.Function):
    """Kept entries times ``1/(1-p)`` (rounded once to float32), dropped ones zero."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, scale: float, keep_mask: Tensor) -> Tensor:
        ctx.save_for_backward(keep_mask)
        ctx.scale = scale
        return torch.where(keep_mask, x * scale, 0.0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        (keep,) = ctx.saved_tensors
        return torch.where(keep, grad * ctx.scale, 0.0), None, None


class Sqrt(torch.autograd.Function):
    """IEEE sqrt is correctly rounded everywhere; the gradient is ``grad / (2 sqrt(x))``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        y = torch.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        y: Tensor = ctx.saved_tensors[0]
        return grad / (y + y)
