"""exp, expm1, log, tanh and a correctly rounded sqrt from ``+ - * /``, ``floor``/``round`` and
exact bit tricks.

Library ``exp``/``log``/``tanh`` differ between SLEEF (each CPU capability), glibc and CUDA's
libdevice. These versions use only correctly rounded float32 ops, each its own kernel, in a fixed
order (Horner, no FMA-capable helpers such as ``addcmul``), so they give the same bits everywhere.
Temporaries are updated in place (``add_``/``mul_``: still one IEEE op per element per kernel) to
save allocations on the large activations of attention and GELU.
Accuracy: within a few float32 ulp (see the tests for the bounds).

Constants are float32-representable Python floats, so each op is the same whether a backend computes
the scalar op in float32 or in float64 then rounds (double rounding through binary64 is harmless for
+ - * / of binary32 operands).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from node.runtime.repro.quantize import pow2


def _f32(x: float) -> float:
    return float(np.float32(x))


LOG2E = _f32(1.4426950408889634)
# Cody-Waite split of ln 2: LN2_HI has 16 significant bits, so k * LN2_HI is exact for |k| < 2^8.
LN2_HI = 0.693145751953125
LN2_LO = _f32(0.6931471805599453 - LN2_HI)
# Taylor coefficients of exp(r) - 1 on |r| <= ln2/2: the degree-8 remainder is below 2^-27.
EXPM1_COEFFS = [_f32(1.0 / c) for c in (5040.0, 720.0, 120.0, 24.0, 6.0, 2.0)]
SQRT_HALF = _f32(0.7071067811865476)
EXP_MIN, EXP_MAX = -104.0, 89.0  # exp underflows to 0 below -103.97 and overflows above 88.73
# exp's range with one power-of-two factor: round(x log2 e) stays in [-127, 128].
EXP_FLUSH, EXP_OVERFLOW = -88.0, 88.5


def _reduce(x: Tensor, lo: float = EXP_MIN, hi: float = EXP_MAX) -> tuple[Tensor, Tensor]:
    """``x = k ln2 + r`` with integer ``k`` and ``|r| <= ln2/2`` (plus rounding), ``x`` clamped first."""
    x = torch.clamp(x, lo, hi)
    k = torch.round_(x * LOG2E)
    r = x.sub_(k * LN2_HI).sub_(
        k * LN2_LO
    )  # x is clamp's own copy: in place saves a pass's allocation
    return k, r


def _expm1_poly(r: Tensor) -> Tensor:
    """``exp(r) - 1`` for small ``r``: r + r²(1/2 + r(1/6 + ...)) in Horner form, no constant 1 added."""
    p = r * EXPM1_COEFFS[0]
    for c in EXPM1_COEFFS[1:]:
        p.add_(c).mul_(r)
    return p.mul_(r).add_(r)


def _scale2(x: Tensor, k: Tensor) -> Tensor:
    """``x * 2**k`` for integer ``k`` in [-151, 129] as two exact power-of-two multiplies.

    Splitting ``k`` keeps each factor a normal float; only the last multiply can round (subnormal
    results) or overflow, both deterministic. Scales ``x`` in place (callers pass a temporary).
    """
    k1 = torch.floor_(k * 0.5)
    return x.mul_(pow2(k1)).mul_(pow2(k - k1))


def exp(x: Tensor) -> Tensor:
    """exp(x) = 2^k * (1 + expm1(r)), with ``2^k`` as one float built from its bits.

    The input is clamped to [EXP_FLUSH, EXP_OVERFLOW] so ``k`` stays in [-127, 128]: ``2^-127``
    comes out as the bit pattern 0 (+0.0) and ``2^128`` as +inf, so results below ~2^-126.5 (the
    subnormal range) flush to zero and results above ~2^127.5 overflow to inf (both deterministic;
    softmax/cross-entropy/GELU only need exp far from those edges, and exact zeros for masked
    scores). One multiply instead of ``_scale2``'s two exact steps saves ~8 passes per call.
    """
    k, r = _reduce(x, EXP_FLUSH, EXP_OVERFLOW)
    return _expm1_poly(r).add_(1.0).mul_(_pow2_small(k))


def _pow2_small(k: Tensor) -> Tensor:
    """``2**k`` for integer-valued float32 ``k`` in [-127, 128] (-127 gives +0.0, 128 gives +inf).

    ``k + (2^23 + 127)`` is exact and its bit pattern is ``0x4B000000 + k + 127``; shifting it left by
    23 drops the ``0x4B`` and leaves ``(k + 127) << 23``, the IEEE pattern of ``2**k``.
    """
    bits = k.add(8388735.0).view(torch.int32).bitwise_left_shift_(23)
    return bits.view(torch.float32)


def expm1(x: Tensor) -> Tensor:
    """exp(x) - 1 without cancellation near 0: 2^k * expm1(r) + (2^k - 1)."""
    k, r = _reduce(x)
    big = torch.clamp(k, -30.0, 30.0)  # beyond ±30 the "- 1" no longer matters in float32
    return _scale2(_expm1_poly(r), k).add_(pow2(big) - 1.0)


def log(x: Tensor) -> Tensor:
    """Natural log: x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(f / (2 + f)), f = m - 1.

    ``frexp`` is exact (subnormals included); ``m - 1`` is exact (Sterbenz). Zero gives -inf, negative
    or NaN gives NaN, +inf gives +inf.
    """
    m, e = torch.frexp(x)
    e = e.to(torch.float32)
    low = m < SQRT_HALF
    m = torch.where(low, m * 2.0, m)
    e = torch.where(low, e - 1.0, e)
    f = m - 1.0
    s = f / (f + 2.0)
    z = s * s
    # 2 atanh(s) = 2s (1 + z/3 + z²/5 + ... + z⁵/11); |s| <= 0.1716 so the z⁶ term is below 2^-30.
    p = z * _f32(1.0 / 11.0)
    for c in (1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0):
        p = (p + _f32(c)) * z
    log_m = (s + s) + (s + s) * p
    out = e * LN2_HI + (e * LN2_LO + log_m)
    out = torch.where(x == 0.0, float("-inf"), out)
    out = torch.where(x < 0.0, float("nan"), out)
    return torch.where(torch.isinf(x) & (x > 0), float("inf"), out)


def sqrt(x: Tensor) -> Tensor:
    """Correctly rounded sqrt of float32 ``x``, through float64.

    torch's float32 CPU sqrt (MKL's vsSqrt on x86 builds) is not correctly rounded: on this build
    17% of random inputs come out one ulp off, the same on every CPU capability, while CUDA, glibc
    and the fused kernels (``sqrtf``) round correctly. A float64 sqrt within one ulp, rounded to
    float32, is the correctly rounded result (53 >= 2 * 24 + 2 bits: the exact root of a float32 is
    never that close to a float32 rounding boundary); checked against numpy on 40M inputs.
    """
    if x.dtype != torch.float32:
        return torch.sqrt(x)
    return torch.sqrt(x.double()).to(torch.float32)


def tanh(x: Tensor) -> Tensor:
    """tanh(x) = sign(x) * u / (u + 2) with u = expm1(2|x|); equals ±1 in float32 beyond |x| = 9.1."""
    ax = x.abs().clamp_(max=10.0)
    u = expm1(ax.add_(ax))
    return u.div_(u + 2.0).copysign_(x)
