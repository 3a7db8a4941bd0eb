"""Power-of-two quantization: turn float rows/columns into exact integers.

Every step here is an elementwise IEEE operation whose result is exact (scaling by a power of two,
``round`` half-to-even, ``floor``, subtracting integers below 2^24), so the integers produced do not
depend on threads, SIMD width or device. The only reduction is ``amax``, and max is order-independent.
"""

from __future__ import annotations

import torch
from torch import Tensor

# amax * HEADROOM < 2**e guarantees amax * 2**(bits - e) < 2**bits / HEADROOM: a margin that keeps the
# rounded top integer inside what the limb split can hold. Exact in float32 (1 + 2^-7).
HEADROOM = 1.0078125
# Shifts stay within ±120 so inverse scales times 2^7 remain normal floats; for finite float32 input
# (max exponent 128) and >= 13 bits the lower clamp never binds.
MIN_SHIFT, MAX_SHIFT = -120.0, 120.0


def pow2(exponent: Tensor) -> Tensor:
    """Exactly ``2**exponent`` as float32 for integer exponents in [-126, 127], built from its bits.

    ``torch.pow``/``ldexp`` go through a library ``exp2``; an IEEE bit pattern is exact by construction.
    """
    bits = (exponent.to(torch.int32) + 127) << 23
    return bits.view(torch.float32)


def quantize(x: Tensor, dim: int, bits: int) -> tuple[Tensor, Tensor, Tensor]:
    """Scale each slice of ``x`` along ``dim`` by a power of two and round to integers.

    Returns ``(q, inv_scale, amax)``: ``q`` (float32 holding integers, ``|q| < 2**bits / HEADROOM``)
    with ``x ≈ q * inv_scale``; ``inv_scale`` and ``amax`` keep ``dim`` with size 1. The scale comes from
    the slice's max-abs (``frexp`` is exact), so its largest entry uses all but the headroom of ``bits``.
    The shift is clamped so the scale and its inverse stay normal floats: slices with max-abs below
    ~2^-110 lose precision (they are zero for any practical purpose). ``amax`` lets callers flag
    non-finite slices.
    """
    amax = x.abs().amax(dim=dim, keepdim=True)
    _, e = torch.frexp(amax * HEADROOM)
    shift = torch.clamp(bits - e.to(torch.float32), MIN_SHIFT, MAX_SHIFT)
    scaled = x * pow2(shift)
    finite = torch.isfinite(amax)
    if not bool(finite.all()):
        # NaN/inf would reach an int8 conversion, which is undefined behaviour: zero those slices here
        # and let the caller poison the matching outputs with NaN.
        scaled = torch.where(finite, scaled, 0.0)
    return torch.round(scaled), pow2(-shift), amax


def split_limbs(q: Tensor, base_bits: int) -> tuple[Tensor, Tensor]:
    """Split integers ``q`` into ``hi * 2**base_bits + lo`` with ``lo`` in [-2**(b-1), 2**(b-1)).

    ``floor((q + half) / base)`` is exact: ``q`` is a float32 integer below 2^24 and ``base`` a power of two.
    """
    base = float(2**base_bits)
    half = float(2 ** (base_bits - 1))
    hi = torch.floor((q + half) / base)
    return hi, q - hi * base
