"""Autograd functions built on reductions: sum, layer_norm, softmax, log_softmax, cross_entropy.

Every sum is a ``tree_sum``; every division by a count divides by a tensor on the operand's device
(``_scalar_like``), never by a Python scalar; exp/log are the fixed-order versions from ``transcendental``; row maxima
(``amax``) are exact in any order and get ``+ 0.0`` so a -0.0/+0.0 tie cannot flip a sign bit.
Softmax and layer norm over the last dim run as fused C kernels where one is built
(``native_kernels``); the torch ops here are their definitions.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from node.runtime.repro import native_kernels
from node.runtime.repro import transcendental as T
from node.runtime.repro.reduce import tree_sum, tree_sum_all


class Sum(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int | None) -> Tensor:
        ctx.shape, ctx.dim = x.shape, dim
        return tree_sum_all(x) if dim is None else tree_sum(x, dim)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        if ctx.dim is not None:
            grad = grad.unsqueeze(ctx.dim)
        return grad.expand(ctx.shape).contiguous(), None


def _scalar_like(x: Tensor, value: float) -> Tensor:
    """``value`` as a 0-dim float32 tensor on ``x``'s device: a divisor CUDA divides by (with a CPU
    scalar, CUDA's ``div`` multiplies by its rounded reciprocal instead: other bits than the CPU's)."""
    return torch.full((), value, dtype=torch.float32, device=x.device)


def _row_max(x: Tensor, dim: int) -> Tensor:
    return x.amax(dim=dim, keepdim=True) + 0.0


class LayerNorm(torch.autograd.Function):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last dim (biased variance)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, eps: float) -> Tensor:
        ctx.has_bias = bias is not None
        lib = native_kernels.rows_applicable(x, weight, *([] if bias is None else [bias]))
        if lib is not None and weight.shape == x.shape[-1:]:
            y, xhat, rstd = native_kernels.layer_norm(lib, x, weight, bias, eps)
            ctx.save_for_backward(xhat, rstd, weight)
            return y
        n = _scalar_like(x, float(x.shape[-1]))
        mean = tree_sum(x, -1, keepdim=True).div_(n)
        xc = x - mean
        var = tree_sum(xc * xc, -1, keepdim=True).div_(n)
        rstd = 1.0 / T.sqrt(var.add_(eps))  # a true division: reciprocal() may be approximate
        xhat = xc.mul_(rstd)
        y = xhat * weight
        if bias is not None:
            y.add_(bias)
        ctx.save_for_backward(xhat, rstd, weight)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        xhat, rstd, weight = ctx.saved_tensors
        n = _scalar_like(xhat, float(xhat.shape[-1]))
        dx = dw = db = None
        lib = native_kernels.rows_applicable(grad, weight, xhat, rstd)
        if ctx.needs_input_grad[0] and lib is not None and weight.shape == xhat.shape[-1:]:
            dx = native_kernels.layer_norm_backward(lib, grad, weight, xhat, rstd)
        elif ctx.needs_input_grad[0]:
            dxhat = grad * weight
            mean_d = tree_sum(dxhat, -1, keepdim=True).div_(n)
            mean_dx = tree_sum(dxhat * xhat, -1, keepdim=True).div_(n)
            dx = dxhat.sub_(mean_d).sub_(xhat * mean_dx).mul_(rstd)
        rows = grad.reshape(-1, grad.shape[-1])
        if ctx.needs_input_grad[1]:
            dw = tree_sum(rows * xhat.reshape(rows.shape), 0)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = tree_sum(rows, 0)
        return dx, dw, db, None


class RMSNorm(torch.autograd.Function):
    """``weight * (x * rstd)``, ``rstd = 1 / sqrt(mean(x²) + eps)`` over the last dim (Llama's).

    ``rstd`` is a correctly rounded sqrt followed by an IEEE division (two correct roundings, as
    layer_norm's; Hugging Face's ``torch.rsqrt`` is a library approximation). Backward:
    ``dx = rstd (g w - xhat mean(g w xhat))``, ``dw = Σ_rows g xhat``, every sum a ``tree_sum``.
    Forward and the input gradient run as fused C kernels where one is built (``native_kernels``).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, eps: float) -> Tensor:
        lib = native_kernels.rows_applicable(x, weight)
        if lib is not None and weight.shape == x.shape[-1:]:
            y, xhat, rstd = native_kernels.rms_norm(lib, x, weight, eps)
            ctx.save_for_backward(xhat, rstd, weight)
            return y
        n = _scalar_like(x, float(x.shape[-1]))
        ms = tree_sum(x * x, -1, keepdim=True).div_(n)
        rstd = 1.0 / T.sqrt(ms.add_(eps))
        xhat = x * rstd
        ctx.save_for_backward(xhat, rstd, weight)
        return weight * xhat

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        xhat, rstd, weight = ctx.saved_tensors
        dx = dw = None
        lib = native_kernels.rows_applicable(grad, weight, xhat, rstd)
        if ctx.needs_input_grad[0] and lib is not None and weight.shape == xhat.shape[-1:]:
            dx = native_kernels.rms_norm_backward(lib, grad, weight, xhat, rstd)
        elif ctx.needs_input_grad[0]:
            n = _scalar_like(xhat, float(xhat.shape[-1]))
            dxhat = grad * weight
            mean_dx = tree_sum(dxhat * xhat, -1, keepdim=True).div_(n)
            dx = dxhat.sub_(xhat * mean_dx).mul_(rstd)
        if ctx.needs_input_grad[1]:
            rows = grad.reshape(-1, grad.shape[-1])
            dw = tree_sum(rows * xhat.reshape(rows.shape), 0)
        return dx, dw, None


def _softmax(x: Tensor, dim: int) -> tuple[Tensor, Tensor, Tensor]:
    """Returns ``(p, z, s)``: softmax, ``x - max`` and the denominator sum of ``exp(z)``."""
    z = x - _row_max(x, dim)
    e = T.exp(z)
    s = tree_sum(e, dim, keepdim=True)
    return e.div_(s), z, s


class Softmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int) -> Tensor:
        lib = native_kernels.rows_applicable(x)
        if lib is not None and dim % x.dim() == x.dim() - 1:
            p = native_kernels.softmax(lib, x)
        else:
            p, _, _ = _softmax(x, dim)
        ctx.save_for_backward(p)
        ctx.dim = dim
        return p

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (p,) = ctx.saved_tensors
        lib = native_kernels.rows_applicable(grad, p)
        if lib is not None and ctx.dim % p.dim() == p.dim() - 1:
            return native_kernels.softmax_backward(lib, grad, p), None
        return (grad - tree_sum(grad * p, ctx.dim, keepdim=True)).mul_(p), None


class LogSoftmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, dim: int) -> Tensor:
        p, z, s = _softmax(x, dim)
        ctx.save_for_backward(p)
        ctx.dim = dim
        return z - T.log(s)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (p,) = ctx.saved_tensors
        return grad - p * tree_sum(grad, ctx.dim, keepdim=True), None


class CrossEntropy(torch.autograd.Function):
    """Mean over the batch of ``-log_softmax(logits)[i, targets[i]]``."""

    @staticmethod
    def forward(ctx: Any, logits: Tensor, targets: Tensor) -> Tensor:
        lib = native_kernels.rows_applicable(logits)
        if lib is not None and logits.dim() == 2:
            # The fused softmax also returns each row's max and exp sum: the same bits as
            # ``_softmax``'s, without materializing ``z`` (one pass instead of ~20 on the logits).
            p, m, s = native_kernels.softmax_stats(lib, logits)
            picked = (logits.gather(1, targets.view(-1, 1)) - m) - T.log(s)
        else:
            p, z, s = _softmax(logits, 1)
            picked = z.gather(1, targets.view(-1, 1)) - T.log(s)
        batch = _scalar_like(logits, float(logits.shape[0]))
        ctx.save_for_backward(p, targets)
        return -(tree_sum_all(picked) / batch)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        p, targets = ctx.saved_tensors
        scale = grad / _scalar_like(p, float(p.shape[0]))
        lib = native_kernels.rows_applicable(p)
        if (
            lib is not None
            and scale.device.type == "cpu"
            and targets.dtype == torch.int64
            and targets.is_contiguous()
        ):
            # One pass instead of four (zeros, scatter, subtract, scale): the same two ops per entry.
            return native_kernels.cross_entropy_backward(lib, p, targets, float(scale)), None
        onehot = torch.zeros_like(p).scatter_(1, targets.view(-1, 1), 1.0)
        return (p - onehot) * scale, None
