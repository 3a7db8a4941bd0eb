"""Rotary position embedding tables (Hugging Face's default RoPE), the same bits on every machine.

Hugging Face computes ``inv_freq = 1 / theta^(2i/d)`` and ``angle = position * inv_freq`` in float32,
then ``cos``/``sin`` with the platform's float32 library, which differs between SLEEF builds, glibc
and CUDA. Here the tables are a pure function of ``(positions, head_dim, theta)``:

- ``inv_freq`` comes from Python's ``decimal`` at 40 digits (libmpdec's ``**``, the same algorithm
  everywhere) and is rounded to float32 once, as Hugging Face keeps it in float32;
- ``angle`` is the float32 product ``position * inv_freq`` (computed exactly in float64, rounded once:
  Hugging Face's angle bit for bit, for positions below 2^24);
- ``cos``/``sin`` of that angle are evaluated in float64 with only ``+ - *`` and ``round`` (each a
  correctly rounded IEEE operation, one kernel each): Cody-Waite reduction by pi/2 with fdlibm's
  three-part constant, then Taylor polynomials on ``|r| <= pi/4`` (error below 1e-16), then one
  rounding to float32. The float64 result is the same on every IEEE machine, so its rounding is too.

The tables are built once per model on the CPU (they are constants, like the causal mask) and move
with the model to its device. Both runtimes use them: RoPE is elementwise ``+ *`` on the activations.
"""

from __future__ import annotations

import decimal
import functools

import torch
from torch import Tensor

# fdlibm's pi/2 split: PIO2_1 and PIO2_2 have 33 significant bits, so k * PIO2_{1,2} is exact in
# float64 for |k| < 2^20 (angles below ~1.6e6 radians).
PIO2_1 = 1.57079632673412561417e00
PIO2_2 = 6.07710050630396597660e-11
PIO2_3 = 2.02226624871116645580e-21
TWO_OVER_PI = 6.36619772367581382433e-01
MAX_ANGLE = float(1 << 20)
# Taylor coefficients (-1)^j / n! for sin (odd n up to 17) and cos (even n up to 18), in float64.
_SIN = [
    (-1.0) ** (j + 1) / float(_f)
    for j, _f in enumerate(
        [6, 120, 5040, 362880, 39916800, 6227020800, 1307674368000, 355687428096000]
    )
]
_COS = [
    (-1.0) ** (j + 1) / float(_f)
    for j, _f in enumerate(
        [2, 24, 720, 40320, 3628800, 479001600, 87178291200, 20922789888000, 6402373705728000]
    )
]


def inv_freq(head_dim: int, theta: float) -> Tensor:
    """``1 / theta^(2i / head_dim)`` for ``i < head_dim / 2``, float32 (Hugging Face's ``inv_freq``)."""
    with decimal.localcontext(decimal.Context(prec=40)):
        base = decimal.Decimal(theta)
        values = [1 / base ** (decimal.Decimal(2 * i) / head_dim) for i in range(head_dim // 2)]
        return torch.tensor([float(v) for v in values], dtype=torch.float64).to(torch.float32)


def _sin_cos_f64(a: Tensor) -> tuple[Tensor, Tensor]:
    """``(sin a, cos a)`` for float64 ``a`` (``|a| < MAX_ANGLE``) from ``+ - *`` and ``round``."""
    k = torch.round(a * TWO_OVER_PI)
    r = ((a - k * PIO2_1) - k * PIO2_2) - k * PIO2_3
    r2 = r * r
    s = r2 * _SIN[-1]
    for c in reversed(_SIN[:-1]):
        s = (s + c) * r2
    s = s * r + r
    c_ = r2 * _COS[-1]
    for c in reversed(_COS[:-1]):
        c_ = (c_ + c) * r2
    c_ = c_ + 1.0
    quadrant = torch.remainder(k, 4.0)
    sin = torch.where(
        quadrant == 0, s, torch.where(quadrant == 1, c_, torch.where(quadrant == 2, -s, -c_))
    )
    cos = torch.where(
        quadrant == 0, c_, torch.where(quadrant == 1, -s, torch.where(quadrant == 2, -c_, s))
    )
    return sin, cos


@functools.cache
def _tables(length: int, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    freq = inv_freq(head_dim, theta).double()
    pos = torch.arange(length, dtype=torch.float64)
    angle = (pos[:, None] * freq[None, :]).to(torch.float32).double()  # HF's float32 angle
    if length and float(angle.max()) >= MAX_ANGLE:
        raise ValueError(f"RoPE angle beyond {MAX_ANGLE:g} rad: positions {length} too long")
    sin, cos = _sin_cos_f64(torch.cat([angle, angle], dim=-1))
    return cos.to(torch.float32), sin.to(torch.float32)


def rope_tables(length: int, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """``(cos, sin)`` float32 ``[length, head_dim]``, each frequency repeated over both halves."""
    cos, sin = _tables(length, head_dim, float(theta))
    return cos.clone(), sin.clone()


def rotate_half(x: Tensor) -> Tensor:
    """``[-x2, x1]`` for ``x = [x1, x2]`` split over the last dim (Hugging Face's layout)."""
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """``x cos + rotate_half(x) sin``: two IEEE multiplies and one add per element (no FMA op)."""
    return x * cos + rotate_half(x) * sin
