"""Per-slice power-of-two quantization (``quantize``, for both exact GEMM paths) and exact scaling.

Quantization uses only elementwise IEEE operations whose results are exact (scaling by a power of
two, ``round`` half-to-even, subtracting integers below 2^24), so the integers produced do not
depend on threads, SIMD width or device. The only reduction is a max-abs, which is order-independent.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

# amax * HEADROOM < 2**e guarantees amax * 2**(bits - e) < 2**bits / HEADROOM: a margin that keeps the
# rounded top integer inside what the limb split can hold. Exact in float32 (1 + 2^-7).
HEADROOM = 1.0078125
# Shifts stay within ±120 so inverse scales times 2^7 remain normal floats; for finite float32 input
# (max exponent 128) and >= 13 bits the lower clamp never binds.
MIN_SHIFT, MAX_SHIFT = -120.0, 120.0


class Quantized(NamedTuple):
    """A quantized operand: integers ``q`` (or their limb stack) with ``x ≈ q * inv`` per slice;
    ``amax`` (max |x| per slice, non-finite where the slice held NaN/inf) and ``finite`` (no such
    slice: the product needs no poisoning)."""

    q: Tensor
    inv: Tensor
    amax: Tensor
    finite: bool

    def transposed(self) -> Quantized:
        """The same operand with its last two dims swapped."""
        q, inv, amax = (t.transpose(-1, -2) for t in (self.q, self.inv, self.amax))
        return Quantized(q, inv, amax, self.finite)


def pow2(exponent: Tensor) -> Tensor:
    """Exactly ``2**exponent`` as float32 for integer exponents in [-126, 127], built from its bits.

    ``torch.pow``/``ldexp`` go through a library ``exp2``; an IEEE bit pattern is exact by construction.
    """
    bits = (exponent.to(torch.int32) + 127) << 23
    return bits.view(torch.float32)


def quantize(x: Tensor, dim: int, bits: int) -> Quantized:
    """Scale each slice of ``x`` along ``dim`` by a power of two and round to integers.

    Returns ``Quantized(q, inv_scale, amax, finite)``: ``q`` (float32 holding integers,
    ``|q| < 2**bits / HEADROOM``) with ``x ≈ q * inv_scale``; ``inv_scale`` and ``amax`` keep ``dim`` with size 1. The shift is
    clamped so the scale and its inverse stay normal floats; ``amax`` lets callers flag non-finite
    slices (they are zeroed here, the caller poisons their outputs).
    """
    amax = x.abs().amax(dim=dim, keepdim=True)
    _, e = torch.frexp(amax.double() * HEADROOM)
    shift = torch.clamp(bits - e.to(torch.float32), MIN_SHIFT, MAX_SHIFT)
    scaled = x * pow2(shift)
    finite = torch.isfinite(amax)
    all_finite = bool(finite.all())
    if not all_finite:
        scaled = torch.where(finite, scaled, 0.0)
    return Quantized(scaled.round_(), pow2(-shift), amax, all_finite)
