"""Reductions whose result does not depend on threads, SIMD width or device.

``torch.sum``/``mean``/``index_add`` pick their summation order by vector width and thread split, so
their float results differ across machines. Here:

- ``tree_sum`` adds in a fixed pairwise tree built from whole-tensor elementwise adds (each one IEEE
  add per element): pad the reduced dim with zeros to a power of two, then add the two halves until
  one slice is left. Error grows like log2(n) ulps, better than a sequential sum.
- ``exact_index_add`` (the embedding gradient's scatter-add) makes every addend an integer-valued
  float64 below 2^52 / n (a power-of-two scale per column), so every partial sum is an exact integer
  and ``index_add_``'s order cannot matter; one rounding to float32 at the end.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from node.runtime.repro import native_kernels
from node.runtime.repro.quantize import pow2


def tree_sum(x: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    """Sum ``x`` over ``dim`` in a fixed pairwise order (halves, then quarters, ...)."""
    dim = dim % x.dim() if x.dim() else 0
    if x.dim() == 0:
        return x.clone()
    n = x.shape[dim]
    if n == 0:
        return (
            torch.zeros_like(x.narrow(dim, 0, 1)) if keepdim else torch.zeros_like(x.select(dim, 0))
        )
    lib = native_kernels.rows_applicable(x)
    if lib is not None:
        out = native_kernels.tree_sum(lib, x, dim)
        return out if keepdim else out.squeeze(dim)
    width = 1 << math.ceil(math.log2(n)) if n > 1 else 1
    if width != n:
        pad_shape = list(x.shape)
        pad_shape[dim] = width - n
        x = torch.cat([x, x.new_zeros(pad_shape)], dim)
    while width > 1:
        width //= 2
        x = x.narrow(dim, 0, width) + x.narrow(dim, width, width)
    # Adding +0.0 turns a -0.0 total into +0.0 so the sign of a zero sum never depends on padding.
    x = x + 0.0
    return x if keepdim else x.squeeze(dim)


def tree_sum_all(x: Tensor) -> Tensor:
    """Sum of every element of ``x`` in a fixed pairwise order (a 0-dim tensor)."""
    return tree_sum(x.reshape(-1), 0)


def exact_index_add(rows: int, index: Tensor, src: Tensor) -> Tensor:
    """``zeros(rows, D).index_add_(0, index, src)`` for float32 ``src`` [n, D], exactly summed.

    Each column ``d`` is scaled by ``2**s_d`` so that ``|src * 2**s_d| < 2**(52 - ceil(log2 n))`` and
    rounded to an integer (the quantization step is at most 2^-(50 - log2 n) of the column's max, far
    below float32 resolution); sums of at most ``n`` such integers stay below 2^52, so float64 adds are
    exact in any order. The unscaling is exact in float64 and the float32 conversion rounds once.
    Only the rows ``index`` touches are summed and unscaled (a compact float64 buffer, each row's
    exact sum the same); the others are +0.0, as ``0.0 * 2**-s`` rounded is: a batch of 2048
    tokens touches at most 2048 of a 32k-row vocabulary, not all of its float64 rows.
    """
    n, d = src.shape
    out_shape = (rows, d)
    if n == 0:
        return src.new_zeros(out_shape)
    bits = 51 - max(math.ceil(math.log2(n)), 0)
    amax = src.abs().amax(dim=0, keepdim=True)
    _, e = torch.frexp(amax)
    shift = torch.clamp(bits - e.to(torch.float32), -120.0, 120.0)
    q = torch.round(src.double() * pow2(shift).double())
    touched, slot = torch.unique(index, return_inverse=True)
    acc = torch.zeros(len(touched), d, dtype=torch.float64, device=src.device)
    acc.index_add_(0, slot, q)
    out = src.new_zeros(out_shape)
    out[touched] = (acc * pow2(-shift).double()).to(torch.float32)
    finite = torch.isfinite(amax)
    if not bool(finite.all()):
        out = torch.where(finite, out, float("nan"))
    return out
