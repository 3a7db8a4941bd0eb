"""Autograd functions for elementwise ops: gelu (tanh approximation), silu, tanh, relu, dropout, sqrt.

Elementwise IEEE ops are reproducible as long as each is its own kernel; the only library functions
they would need (tanh) come from ``transcendental``. NaN propagates through relu. GELU runs as one
fused C kernel where one is built (``native_kernels``), as does SiLU; the torch-op chains are
their definitions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from node.runtime.repro import native_kernels
from node.runtime.repro import transcendental as T

GELU_C = float(np.float32(math.sqrt(2.0 / math.pi)))
GELU_A = float(np.float32(0.044715))
GELU_3A = float(np.float32(3.0 * 0.044715))
GELU_2C = 2.0 * GELU_C  # exact doubling of a float32
GELU_M2C = -GELU_2C


def _gated_forward(ctx: Any, x: Tensor, name: str, gate: Callable[[Tensor], Tensor]) -> Tensor:
    """``x s`` with ``s = gate(x)`` saved for backward: the fused kernel ``name`` where one is
    built, else the torch-op definition ``gate``."""
    lib = native_kernels.rows_applicable(x)
    if lib is not None:
        y, s = native_kernels.gated(lib, name, x)
    else:
        s = gate(x)
        y = x * s
    ctx.save_for_backward(x, s)
    return y


def _gated_backward(
    ctx: Any, grad: Tensor, name: str, slope: Callable[[Tensor, Tensor], Tensor]
) -> Tensor:
    """``(slope(x, s) + s) grad``: the fused kernel ``name`` where one is built, else the
    definition."""
    x: Tensor
    s: Tensor
    x, s = ctx.saved_tensors
    lib = native_kernels.rows_applicable(x, s, grad)
    if lib is not None:
        return native_kernels.gated_backward(lib, name, x, s, grad)
    return slope(x, s).add_(s).mul_(grad)


def _gelu_gate(x: Tensor) -> Tensor:
    # In-place chains on temporaries; + and * are commutative in IEEE, so t + x is x + t bitwise.
    minus_2z = (x * x).mul_(x).mul_(GELU_A).add_(x).mul_(GELU_M2C)
    return torch.reciprocal(T.exp(minus_2z).add_(1.0))  # IEEE 1/x on CPU and CUDA


def _gelu_slope(x: Tensor, s: Tensor) -> Tensor:
    # d/dx x sig(2z) = sig + x sig (1 - sig) 2c (1 + 3a x²)
    dz2 = (x * x).mul_(GELU_3A).add_(1.0).mul_(GELU_2C)
    return (s - 1.0).neg_().mul_(s).mul_(x).mul_(dz2)


def _silu_gate(x: Tensor) -> Tensor:
    return torch.reciprocal(T.exp(-x).add_(1.0))  # IEEE 1/x on CPU and CUDA


def _silu_slope(x: Tensor, s: Tensor) -> Tensor:
    return (s - 1.0).neg_().mul_(s).mul_(x)


class Gelu(torch.autograd.Function):
    """0.5 x (1 + tanh(c (x + a x³))), computed as x sig(2z) = x / (1 + exp(-2z)), z = c (x + a x³).

    The sigmoid form is the same function (0.5 (1 + tanh z) = sig(2z), sig the logistic sigmoid)
    with one ``exp`` and a reciprocal instead of ``tanh``'s ``expm1`` and sign handling: about 30
    passes over the activation instead of 55.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return _gated_forward(ctx, x, "gelu", _gelu_gate)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return _gated_backward(ctx, grad, "gelu", _gelu_slope)


class Silu(torch.autograd.Function):
    """``x sig(x) = x / (1 + exp(-x))`` with repro's ``exp`` and an IEEE reciprocal (a fused C
    kernel where one is built, the torch ops its definition).

    Backward: ``d/dx x sig(x) = sig + x sig (1 - sig)``, in that fixed order of single ops.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return _gated_forward(ctx, x, "silu", _silu_gate)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return _gated_backward(ctx, grad, "silu", _silu_slope)


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
        return _dropout(x, keep_mask, scale)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        (keep,) = ctx.saved_tensors
        return _dropout(grad, keep, ctx.scale), None, None


def _dropout(x: Tensor, keep: Tensor, scale: float) -> Tensor:
    """``where(keep, x * scale, 0)``: the definition, or its fused kernel."""
    lib = native_kernels.rows_applicable(x)
    if (
        lib is not None
        and keep.dtype == torch.bool
        and keep.shape == x.shape
        and keep.is_contiguous()
    ):
        return native_kernels.dropout(lib, x, keep, scale)
    return torch.where(keep, x * scale, 0.0)


class Sqrt(torch.autograd.Function):
    """Correctly rounded sqrt (``transcendental.sqrt``, or ``sqrtf`` in a C kernel: the same
    value); the gradient is ``grad / (2 sqrt(x))``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        lib = native_kernels.rows_applicable(x)
        y = native_kernels.sqrt(lib, x) if lib is not None else T.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        y: Tensor = ctx.saved_tensors[0]
        return grad / (y + y)
