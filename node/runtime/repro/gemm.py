"""Exact-accumulation GEMMs: the result is a pure function of the operands' bits.

``exact_bmm`` (``exact_mm`` is its batch-of-one case) uses Ozaki-style int8 limbs on
``torch._int_mm`` (DESIGN §3): ``a`` is quantized per row (along K) to 21 bits, ``b`` per column to
20 bits, each as three 7-bit limbs (``limb_stack``). Three int8 GEMMs with K, 2K and 3K (operand
limbs stacked along K, so each product is one call on views) give every limb product down to 2^-14
of the top one; each is exact in int32, so threads, blocking, SIMD width and device cannot change a
bit. They are combined in float32 in a fixed order and rescaled by powers of two. Error ~2^-20 of
|a||b| per output, ~6e-6 of the largest output on random data. Limbs on the ``b`` side stay within
±64 because oneDNN's int8 kernels on CPUs without VNNI (AVX2/AVX-512 without DL Boost, SSE4.1) add
pairs of u8*s8 products into saturating int16: with |b| <= 64 the pair sum stays below 2^15 and the
result is exact there too (checked by ``check_int8_kernel`` and the test suite with
``ONEDNN_MAX_CPU_ISA``).

Small and batched products (``exact_bmm_f64``): operands quantized to ``floor((53 - ceil(log2 K)) / 2)``
bits (23 for K = 128, at most 24), multiplied as float64 integers with ``torch.bmm``: every product
and partial sum is an integer below 2^53, hence exact in any order; rescaled in float64 (exact) and
rounded once to float32. ``exact_bmm`` picks the path from the shapes alone (a 2-D product of at
least ``INT8_MIN_MACS`` multiply-adds goes to int8 limbs), so a replay with the same shapes takes
the same path on every machine: the path is part of repro-v1's definition. Measured on this CPU:
int8 limbs win from ~10^8 multiply-adds on (gpt MLP/attention projections, 1.2-1.4x faster than
float64); below that, and for batches (attention: ``_int_mm`` is 2-D, so batches loop in Python),
float64 wins by 1.4-2.8x (mlp, cnn, attention bmm, the gpt head).

History: repro-v1 first multiplied every product as float64 integers. On a 2-core AVX-512 VNNI machine an int8 GEMM unit runs ~5x faster than fp32, float64
~2x slower, so the six int8 units cost about one fp32 GEMM: [2048,256]x[256,1024] fp32 13 ms,
float64 path 39-55 ms, this 23-28 ms (quantization and the combine are most of the rest).
13/14-bit int8 operands were too coarse (they flipped ReLU masks in the CNN and moved its loss 18%).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from node.runtime.repro.quantize import HEADROOM, MAX_SHIFT, MIN_SHIFT, pow2, quantize

A_BITS = 21
B_BITS = 20
LIMB_BITS = 7
# int32 sums of 3K limb products, each below 127 * 64: exact for K <= 2^16.
K_CHUNK = 1 << 16
# float64 path: K chunks whose bit width keeps partial sums below 2^53.
F64_K_CHUNK = 4096
# 2-D products with at least this many multiply-adds use int8 limbs (see the module doc).
INT8_MIN_MACS = 1 << 26

_checked_devices: set[str] = set()


class ReproKernelError(RuntimeError):
    """Raised when this machine's int8 GEMM is not exact, so repro-v1 results would not be portable."""


def _int_mm(a: Tensor, b: Tensor, out: Tensor) -> None:
    """``out = torch._int_mm(a, b)``, with the zero padding CUDA needs (M > 16, K and N multiples of 8).

    Zero rows/columns add nothing to an exact integer sum, so padding never changes a bit.
    """
    if not a.is_cuda:
        torch._int_mm(a, b, out=out)
        return
    m, k = a.shape
    n = b.shape[1]
    pm, pk, pn = max(17 - m, 0), -k % 8, -n % 8
    if pm or pk:
        a = torch.nn.functional.pad(a, (0, pk, 0, pm))
    if pk or pn:
        b = torch.nn.functional.pad(b, (0, pn, 0, pk))
    out.copy_(torch._int_mm(a.contiguous(), b.contiguous())[:m, :n])


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
            got = torch.empty(x.shape[0], y.shape[1], dtype=torch.int32, device=device)
            _int_mm(x, y, out=got)
            got = got.double()
            want = x.double() @ y.double()
            if not bool(torch.equal(got, want)):
                raise ReproKernelError(
                    f"torch._int_mm is not exact on {key} for limb range ±127 x ±64"
                )
    _checked_devices.add(key)


def limb_stack(x: Tensor, k_dim: int, bits: int, top_first: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Quantize ``x`` per slice along ``k_dim`` to ``bits`` and split it into three int8 limbs.

    ``q = round(x * 2**shift) = top * 2**14 + mid * 2**7 + low`` with ``mid``/``low`` in [-64, 64]
    and ``|top| <= 127`` (21 bits) or ``<= 64`` (20 bits). The limbs are stacked along ``k_dim``
    (size ``3 K``) in the order ``top, mid, low`` (``top_first``: the ``a`` operand, whose prefixes
    are ``[top]``, ``[top, mid]``, ``[top, mid, low]``) or ``low, mid, top`` (the ``b`` operand, used
    through suffixes), so each product in ``exact_bmm`` is one GEMM on views. The stack is laid out
    like ``x`` in memory (an ``x`` whose last two dims are transposed gives a transposed stack).

    Every step is exact: scaling by a power of two, ``round`` (half to even), subtracting
    ``top * 2**14`` (both multiples of the ulp of ``x * 2**shift``, the difference below 2^13 in
    magnitude), then the same one limb down. Returns ``(stack, inv_scale, amax)``, the last two
    keeping ``k_dim`` with size 1.
    """
    k_dim %= x.dim()
    flip = not x.is_contiguous() and x.transpose(-1, -2).is_contiguous()
    phys = x.transpose(-1, -2) if flip else x.contiguous()
    pk = k_dim
    if flip and k_dim >= x.dim() - 2:
        pk = 2 * x.dim() - 3 - k_dim  # the other one of the last two dims
    amax = torch.maximum(phys.amax(dim=pk, keepdim=True), phys.amin(dim=pk, keepdim=True).neg())
    # float64 so that amax * HEADROOM cannot overflow; frexp is exact.
    _, e = torch.frexp(amax.double() * HEADROOM)
    # For finite x, e <= 129: the lower bound (keeping 2**(shift - 14) a normal float) never binds.
    shift = torch.clamp(bits - e.to(torch.float32), MIN_SHIFT + 2 * LIMB_BITS, MAX_SHIFT)
    finite = torch.isfinite(amax)
    if not bool(finite.all()):
        # NaN/inf would reach an int8 conversion (undefined): zero those slices, the caller poisons.
        phys = torch.where(finite, phys, 0.0)
    shape = list(phys.shape)
    q = torch.empty([*shape[:pk], 3, *shape[pk:]], dtype=torch.int8, device=phys.device)
    q_top, q_mid, q_low = (q.select(pk, i) for i in ((0, 1, 2) if top_first else (2, 1, 0)))
    # Float temporaries stay contiguous; only the (exact) int8 conversions write into the stack.
    limb = phys * pow2(shift - 2 * LIMB_BITS)
    q_top.copy_(limb.round_())
    rem = phys * pow2(shift)
    rem.sub_(limb, alpha=1 << (2 * LIMB_BITS))  # exact (alpha a power of two: fused or not)
    q_mid.copy_(torch.mul(rem, 2.0**-LIMB_BITS, out=limb).round_())
    q_low.copy_(rem.sub_(limb, alpha=1 << LIMB_BITS).round_())
    shape[pk] *= 3
    q = q.reshape(shape)
    inv = pow2(-shift)
    if flip:
        return q.transpose(-1, -2), inv.transpose(-1, -2), amax.transpose(-1, -2)
    return q, inv, amax


def exact_mm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for float32 ``a`` [M, K], ``b`` [K, N], reproducible bit for bit on any hardware."""
    return exact_bmm(a.unsqueeze(0), b.unsqueeze(0)).squeeze(0)


def exact_bmm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for float32 ``a`` [B, M, K], ``b`` [B, K, N], reproducible bit for bit on any
    hardware; the path is chosen from the shapes only (see the module doc)."""
    batch, m, k = a.shape
    if batch == 1 and m * k * b.shape[-1] >= INT8_MIN_MACS:
        return exact_bmm_int8(a, b)
    return exact_bmm_f64(a, b)


def exact_bmm_f64(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` via exact float64 integer products (21-24-bit operands, see the module doc)."""
    k = a.shape[-1]
    total: Tensor | None = None
    for k0 in range(0, max(k, 1), F64_K_CHUNK):
        k1 = min(k0 + F64_K_CHUNK, k)
        bits = min(24, (53 - math.ceil(math.log2(max(k1 - k0, 1)))) // 2)
        qa, inv_a, amax_a = quantize(a[..., k0:k1], -1, bits)
        qb, inv_b, amax_b = quantize(b[..., k0:k1, :], -2, bits)
        prod = torch.bmm(qa.double(), qb.double()).mul_(inv_a.double()).mul_(inv_b.double())
        part = _poison_non_finite(prod.to(torch.float32), amax_a, amax_b)
        total = part if total is None else total.add_(part)
    assert total is not None
    return total


def exact_bmm_int8(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for float32 ``a`` [B, M, K], ``b`` [B, K, N] from int8 limbs (see the module doc).

    ``_int_mm`` is 2-D, so batches loop in Python (attention's [128,64]x[64,128]: ~17 us per call on
    one thread; [64,128,64]x[64,64,128] in 9.7 ms vs 12.5 ms for the float64 path, fp32 2.2 ms).
    """
    check_int8_kernel(a.device)
    batch, m, k = a.shape
    n = b.shape[-1]
    if k == 0:
        return a.new_zeros(batch, m, n)
    chunks = math.ceil(k / K_CHUNK)
    step = math.ceil(k / chunks)
    total: Tensor | None = None
    for k0 in range(0, k, step):
        part = _exact_bmm_chunk(a[..., k0 : k0 + step], b[:, k0 : k0 + step])
        total = part if total is None else total.add_(part)
    assert total is not None
    return total


def _exact_bmm_chunk(a: Tensor, b: Tensor) -> Tensor:
    """One K chunk: ``high = a2 b2``, ``mid = a2 b1 + a1 b2``, ``low = a2 b0 + a1 b1 + a0 b2``.

    The products below 2^-14 of the top one are dropped. The combine
    ``low + 2**7 (mid + 2**7 high)`` rounds in float32 in a fixed order; a power-of-two ``alpha``
    makes each ``add`` a single rounding whether or not a kernel fuses it into an FMA.
    """
    batch, m, k = a.shape
    n = b.shape[-1]
    qa, inv_a, amax_a = limb_stack(a, 2, A_BITS, True)
    qb, inv_b, amax_b = limb_stack(b, 1, B_BITS, False)
    prods = torch.empty(3, batch, m, n, dtype=torch.int32, device=a.device)
    # Small per-batch GEMMs (attention) run on one thread: waking sleeping OpenMP workers for each
    # call costs more than the call. Thread counts never change the (exact) products.
    threads = torch.get_num_threads()
    if batch > 1 and threads > 1 and not a.is_cuda:
        torch.set_num_threads(1)
    try:
        for i in range(batch):
            for j, width in enumerate((1, 2, 3)):
                _int_mm(qa[i, :, : width * k], qb[i, (3 - width) * k :], out=prods[j, i])
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    out = prods[1].to(torch.float32)
    out.add_(prods[0].to(torch.float32), alpha=1 << LIMB_BITS)
    low = prods[2].to(torch.float32)
    del prods
    low.add_(out, alpha=1 << LIMB_BITS)
    low.mul_(inv_a * float(1 << (2 * LIMB_BITS))).mul_(inv_b)
    return _poison_non_finite(low, amax_a, amax_b)


def _poison_non_finite(out: Tensor, amax_rows: Tensor, amax_cols: Tensor) -> Tensor:
    """NaN out the outputs whose row of ``a`` or column of ``b`` held a NaN or infinity."""
    finite_rows, finite_cols = torch.isfinite(amax_rows), torch.isfinite(amax_cols)
    if bool(finite_rows.all()) and bool(finite_cols.all()):
        return out
    return torch.where(finite_rows & finite_cols, out, float("nan"))
