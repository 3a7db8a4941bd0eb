"""Autograd functions for the GEMM-shaped ops: linear, batched matmul and conv2d (im2col + GEMM).

Forward and both gradients go through ``exact_mm``/``exact_bmm``; bias gradients through
``tree_sum``; conv's col2im (overlapping patch sums) through a fixed loop over kernel offsets.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from node.runtime.repro.gemm import exact_bmm, exact_mm
from node.runtime.repro.reduce import tree_sum


class Linear(torch.autograd.Function):
    """``x @ weight.T + bias`` over the last dim of ``x``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        x2 = x.reshape(-1, x.shape[-1])
        y = exact_mm(x2, weight.t())
        if bias is not None:
            y = y + bias
        ctx.save_for_backward(x2, weight)
        ctx.has_bias = bias is not None
        ctx.x_shape = x.shape
        return y.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        x2, weight = ctx.saved_tensors
        g2 = grad.reshape(-1, weight.shape[0])
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = exact_mm(g2, weight).reshape(ctx.x_shape)
        if ctx.needs_input_grad[1]:
            dw = exact_mm(g2.t(), x2)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = tree_sum(g2, 0)
        return dx, dw, db


def _as_3d(t: Tensor) -> Tensor:
    return t.reshape(-1, t.shape[-2], t.shape[-1])


class Matmul(torch.autograd.Function):
    """Batched ``a @ b`` with equal leading dims."""

    @staticmethod
    def forward(ctx: Any, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        y = exact_bmm(_as_3d(a), _as_3d(b))
        return y.reshape(*a.shape[:-1], b.shape[-1])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        a, b = ctx.saved_tensors
        g3 = _as_3d(grad)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = exact_bmm(g3, _as_3d(b).transpose(1, 2)).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            db = exact_bmm(_as_3d(a).transpose(1, 2), g3).reshape(b.shape)
        return da, db


def _col2im(
    cols: Tensor, x_shape: torch.Size, kh: int, kw: int, stride: int, padding: int
) -> Tensor:
    """Sum patches [B, C, kh, kw, Ho, Wo] back into an image, one kernel offset at a time.

    ``F.fold``'s accumulation order is an implementation detail (CPU and CUDA kernels differ); a
    Python loop over offsets fixes it: pixel sums are taken in increasing (i, j) order.
    """
    b, c, h, w = x_shape
    ho, wo = cols.shape[-2], cols.shape[-1]
    out = cols.new_zeros(b, c, h + 2 * padding, w + 2 * padding)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i, i + stride * (ho - 1) + 1, stride)
            colsl = slice(j, j + stride * (wo - 1) + 1, stride)
            out[:, :, rows, colsl] = out[:, :, rows, colsl] + cols[:, :, i, j]
    return out[:, :, padding : padding + h, padding : padding + w]


class Conv2d(torch.autograd.Function):
    """NCHW convolution as one exact GEMM over unfolded patches."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int
    ) -> Tensor:
        b, _, h, w = x.shape
        o, c, kh, kw = weight.shape
        ho = (h + 2 * padding - kh) // stride + 1
        wo = (w + 2 * padding - kw) // stride + 1
        cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # [B, C*kh*kw, L], a copy
        cols2 = cols.transpose(1, 2).reshape(b * ho * wo, c * kh * kw)
        w2 = weight.reshape(o, c * kh * kw)
        y = exact_mm(cols2, w2.t())
        if bias is not None:
            y = y + bias
        ctx.save_for_backward(cols2, weight)
        ctx.geom = (x.shape, stride, padding, ho, wo)
        ctx.has_bias = bias is not None
        return y.reshape(b, ho, wo, o).permute(0, 3, 1, 2).contiguous()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        cols2, weight = ctx.saved_tensors
        x_shape, stride, padding, ho, wo = ctx.geom
        o, c, kh, kw = weight.shape
        b = x_shape[0]
        g2 = grad.permute(0, 2, 3, 1).reshape(b * ho * wo, o)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dcols = exact_mm(g2, weight.reshape(o, c * kh * kw))
            patches = dcols.reshape(b, ho, wo, c, kh, kw).permute(0, 3, 4, 5, 1, 2)
            dx = _col2im(patches, x_shape, kh, kw, stride, padding)
        if ctx.needs_input_grad[1]:
            dw = exact_mm(g2.t(), cols2).reshape(weight.shape)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = tree_sum(g2, 0)
        return dx, dw, db, None, None
