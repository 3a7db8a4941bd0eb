"""Autograd functions that route values by index: embedding lookup and max pooling.

Forward passes are exact copies/maxima. The embedding gradient is an exact scatter-add
(``exact_index_add``); the max-pool gradient goes to the *first* maximum of each window, chosen with
elementwise ops rather than a kernel's tie-breaking.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from node.runtime.repro.reduce import exact_index_add


class Embedding(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, ids: Tensor, weight: Tensor) -> Tensor:
        ctx.save_for_backward(ids)
        ctx.rows = weight.shape[0]
        return weight.index_select(0, ids.reshape(-1)).reshape(*ids.shape, weight.shape[1])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        (ids,) = ctx.saved_tensors
        return None, exact_index_add(ctx.rows, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))


def _windows(x: Tensor, k: int) -> Tensor:
    """[N, C, H, W] -> [N, C, H//k, W//k, k*k] (rows/columns that do not fill a window are dropped)."""
    n, c, h, w = x.shape
    ho, wo = h // k, w // k
    x = x[:, :, : ho * k, : wo * k]
    return x.reshape(n, c, ho, k, wo, k).permute(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, k * k)


class MaxPool2d(torch.autograd.Function):
    """Max over non-overlapping k x k windows (stride = kernel, no padding)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, k: int) -> Tensor:
        win = _windows(x, k)
        y = win.amax(dim=-1) + 0.0
        # First index of the max: rank positions k*k, k*k-1, ..., 1 and take the largest rank among
        # the maxima (pure elementwise ops and an exact max; NaN windows route to position 0).
        ranks = torch.arange(k * k, 0, -1, device=x.device, dtype=torch.float32)
        hit = (win == y.unsqueeze(-1)).to(torch.float32) * ranks
        first = (k * k) - hit.amax(dim=-1, keepdim=True).to(torch.int64)
        first = torch.clamp(first, max=k * k - 1)
        ctx.save_for_backward(first)
        ctx.geom = (x.shape, k)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (first,) = ctx.saved_tensors
        shape, k = ctx.geom
        n, c, h, w = shape
        ho, wo = h // k, w // k
        win = torch.zeros(n, c, ho, wo, k * k, dtype=grad.dtype, device=grad.device)
        win.scatter_(-1, first, grad.unsqueeze(-1))
        dx = win.reshape(n, c, ho, wo, k, k).permute(0, 1, 2, 4, 3, 5).reshape(n, c, ho * k, wo * k)
        if ho * k != h or wo * k != w:
            dx = torch.nn.functional.pad(dx, (0, w - wo * k, 0, h - ho * k))
        return dx, None
