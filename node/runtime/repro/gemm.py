"""Exact-accumulation GEMMs: the result is a pure function of the operands' bits.

Two paths, both exact before one final rounding, so threads, blocking, SIMD width and device cannot
change a bit:

- ``exact_mm_int8`` (2-D, not used by repro-v1 today): Ozaki-style int8 limbs on ``torch._int_mm``.
  ``a`` is quantized per row to 21 bits (three 7-bit limbs, the top one in [-127, 127]), ``b`` per
  column to 20 bits (every limb within [-64, 64]). Three int8 GEMMs with K stacked give the terms
  down to 2^-14 of the top one; each is exact in int32 (K chunked at 1024) and they are combined in
  float32 in a fixed order, then rescaled by powers of two. Limbs on the ``b`` side stay within ±64 because oneDNN's
  int8 kernels on CPUs without VNNI (AVX2/AVX-512 without DL Boost, SSE4.1) add pairs of u8*s8
  products into saturating int16: with |b| <= 64 the pair sum stays below 2^15 and the result is
  exact there too (checked by ``check_int8_kernel`` and the test suite with ``ONEDNN_MAX_CPU_ISA``).
- ``exact_bmm`` (batched; ``exact_mm`` is its batch-of-one case): operands quantized to ``floor((53 - ceil(log2 K)) / 2)``
  bits (23 for K=128, capped at 24), multiplied as float64 integers with ``torch.bmm``: every product
  and partial sum is an integer below 2^53, hence exact in any order; rescale in float64 (exact),
  round once to float32. ``_int_mm`` is 2-D only and a per-batch loop of small calls costs more.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from node.runtime.repro.quantize import quantize, split_limbs

A_BITS = 21
B_BITS = 20
LIMB_BITS = 7
K_CHUNK = 1024
BMM_K_CHUNK = 4096

_checked_devices: set[str] = set()


class ReproKernelError(RuntimeError):
    """Raised when this machine's int8 GEMM is not exact, so repro-v1 results would not be portable."""


def _int_mm(a: Tensor, b: Tensor) -> Tensor:
    """``torch._int_mm`` with the zero padding CUDA needs (M > 16, K and N multiples of 8).

    Zero rows/columns add nothing to an exact integer sum, so padding never changes a bit.
    """
    if not a.is_cuda:
        return torch._int_mm(a, b)
    m, k = a.shape
    n = b.shape[1]
    pm, pk, pn = max(17 - m, 0), -k % 8, -n % 8
    if pm or pk:
        a = torch.nn.functional.pad(a, (0, pk, 0, pm))
    if pk or pn:
        b = torch.nn.functional.pad(b, (0, pn, 0, pk))
    return torch._int_mm(a.contiguous(), b.contiguous())[:m, :n]


def check_int8_kernel(device: torch.device) -> None:
    """Fail fast unless ``_int_mm`` is exact on the extreme limb values this module feeds it."""
    key = str(device)
    if key in _checked_devices:
        return
    for m, k, n in ((32, 512, 32), (1, 24, 8), (67, 136, 40)):
        rows = torch.arange(m * k, device=device).reshape(m, k)
        cols = torch.arange(k * n, device=device).reshape(k, n)
        a = torch.where(rows % 3 == 0, -127, 127).to(torch.int8)
        b = torch.where(cols % 5 < 2, -64, 64).to(torch.int8)
        for x, y in ((a, b), (a, -b), (-a, b)):
            got = _int_mm(x, y).double()
            want = x.double() @ y.double()
            if not bool(torch.equal(got, want)):
                raise ReproKernelError(
                    f"torch._int_mm is not exact on {key} for limb range ±127 x ±64"
                )
    _checked_devices.add(key)


def exact_mm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for float32 ``a`` [M, K], ``b`` [K, N], reproducible bit for bit on any hardware.

    The float64 path (``exact_bmm``, 21-24-bit operands): at 13/14-bit int8 limbs the error
    (~1e-4 of |a||b|) flipped ReLU masks and moved the CNN example's loss curve 18% away from fp32's,
    and a 3-limb int8 split (``exact_mm_int8``) is slower than float64 on CPUs (see its docstring).
    """
    return exact_bmm(a.unsqueeze(0), b.unsqueeze(0)).squeeze(0)


def exact_mm_int8(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` from int8 limbs on ``torch._int_mm``: 21-bit ``a`` rows, 20-bit ``b`` columns.

    Not used by repro-v1 (it defines different bits from ``exact_mm``); kept for devices where int8
    GEMMs are far faster than float64 (GPU tensor cores). Six K-units of int8 work (``high``, ``mid``,
    ``low`` below; the terms below 2^-14 of the top one are dropped, error ~2^-20 of |a||b|). Measured
    here on one thread, [2048,256]x[256,1024]: fp32 13 ms, this 55 ms, the float64 path 52 ms;
    [2048,256]x[256,768]: 9 / 45 / 33 ms.
    """
    check_int8_kernel(a.device)
    k = a.shape[1]
    qa, inv_a, amax_a = quantize(a, 1, A_BITS)
    qb, inv_b, amax_b = quantize(b, 0, B_BITS)
    a2, a1, a0 = _limbs3(qa)
    b2, b1, b0 = _limbs3(qb)
    base = float(1 << LIMB_BITS)
    total: Tensor | None = None
    for k0 in range(0, max(k, 1), K_CHUNK):
        s = slice(k0, min(k0 + K_CHUNK, k))
        h, m1, m0 = a2[:, s], a1[:, s], a0[:, s]
        high = _int_mm(h, b2[s])
        mid = _int_mm(torch.cat([h, m1], 1), torch.cat([b1[s], b2[s]], 0))
        low = _int_mm(torch.cat([h, m1, m0], 1), torch.cat([b0[s], b1[s], b2[s]], 0))
        # 128*high + mid is exact in int32 for K <= 1024; the float32 combine rounds, deterministically.
        part = torch.add(mid, high, alpha=1 << LIMB_BITS).to(torch.float32) * base
        part = part + low.to(torch.float32)
        total = part if total is None else total + part
    assert total is not None
    out = total * (inv_a * float(1 << (2 * LIMB_BITS))) * inv_b
    return _poison_non_finite(out, amax_a, amax_b)


def _limbs3(q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """int8 limbs ``(top, mid, low)`` of ``q = top * 2**14 + mid * 2**7 + low``, ``mid``/``low`` in [-64, 64)."""
    rest, low = split_limbs(q, LIMB_BITS)
    top, mid = split_limbs(rest, LIMB_BITS)
    return top.to(torch.int8), mid.to(torch.int8), low.to(torch.int8)


def exact_bmm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for float32 ``a`` [B, M, K], ``b`` [B, K, N] via exact float64 integer products."""
    k = a.shape[-1]
    total: Tensor | None = None
    for k0 in range(0, max(k, 1), BMM_K_CHUNK):
        k1 = min(k0 + BMM_K_CHUNK, k)
        bits = min(24, (53 - math.ceil(math.log2(max(k1 - k0, 1)))) // 2)
        qa, inv_a, amax_a = quantize(a[..., k0:k1], -1, bits)
        qb, inv_b, amax_b = quantize(b[..., k0:k1, :], -2, bits)
        prod = torch.bmm(qa.double(), qb.double()) * inv_a.double() * inv_b.double()
        part = _poison_non_finite(prod.to(torch.float32), amax_a, amax_b)
        total = part if total is None else total + part
    assert total is not None
    return total


def _poison_non_finite(out: Tensor, amax_rows: Tensor, amax_cols: Tensor) -> Tensor:
    """NaN out the outputs whose row of ``a`` or column of ``b`` held a NaN or infinity."""
    finite_rows, finite_cols = torch.isfinite(amax_rows), torch.isfinite(amax_cols)
    if bool(finite_rows.all()) and bool(finite_cols.all()):
        return out
    return torch.where(finite_rows & finite_cols, out, float("nan"))
