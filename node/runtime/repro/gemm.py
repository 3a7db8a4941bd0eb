"""Exact-accumulation GEMMs: the result is a pure function of the operands' bits.

``exact_bmm`` (``exact_mm`` is its batch-of-one case) picks one of two paths from the shapes alone
(a 2-D product of at least ``INT8_MIN_MACS`` multiply-adds takes int8 limbs), so a replay with the
same shapes takes the same path on every machine: the path is part of repro-v1's definition.

Large products (``exact_bmm_int8``), Ozaki-style int8 limbs (docs/RUNTIME.md): ``a`` is quantized per row
(along K) and ``b`` per column to 15 bits plus sign, each as two 8-bit limbs (``limb_stack``). Two
int8 GEMMs with K and 2K (limbs stacked along K, so each is one call on views) give
``a_hi b_hi`` and ``a_hi b_lo + a_lo b_hi``; ``a_lo b_lo`` is dropped. Each sum is exact in int32,
so threads, blocking, SIMD width and device cannot change a bit; they are combined in float32 in a
fixed order and rescaled by powers of two. Accuracy is about TF32's: ~2e-4 of the largest output on
random data with K = 1500 (quantization ~2^-16 per operand, the dropped product about twice that).
The integer sums are exact on VNNI, AMX and CUDA int8 kernels; oneDNN's kernels for CPUs without
VNNI saturate int16 pair sums, so ``int8_gemm_is_exact`` probes the kernel once per device and,
where it is not exact, the same sums are computed as float64 GEMMs (the same bits, slower).
The limb split and the combine run as fused C kernels where a C compiler exists
(``native_kernels``); ``_limb_stack_torch`` and the torch combine are their definitions.

Small and batched products (``exact_bmm_f64``): operands quantized to ``floor((53 - ceil(log2 K)) / 2)``
bits (23 for K = 128, at most 24), multiplied as float64 integers with ``torch.bmm``: every product
and partial sum is an integer below 2^53, hence exact in any order; rescaled in float64 (exact) and
rounded once to float32. Measured on this CPU (2-core AVX-512 VNNI): int8 limbs win from ~10^8
multiply-adds on (the bench gpt's projections and MLP: [2048,256]x[256,1024] fp32 6.7 ms, int8
limbs 3.8 ms for the two GEMMs); below that, and for batches (attention: ``_int_mm`` is 2-D, so
batches would loop in Python), float64 wins (mlp, cnn, attention bmm, the gpt head).

History: repro-v1 first multiplied every product as float64 integers; then as three 7-bit limbs
(21/20-bit operands, six int8 GEMM units, ±64 on ``b`` so non-VNNI kernels stayed exact), which
cost about one fp32 GEMM. Two 8-bit limbs need half the units. 13/14-bit operands were too coarse
for the CNN (they flipped ReLU masks and moved its loss 18%); the CNN stays on float64.
"""

from __future__ import annotations

import ctypes
import logging
import math
from collections.abc import Callable

import torch
from torch import Tensor

from node.runtime.repro import native_kernels, workspace
from node.runtime.repro.quantize import Quantized, quantize

# Each operand is quantized per slice along K to integers of magnitude below 2**OPERAND_BITS and
# split into two 8-bit limbs, ``q = hi * 2**8 + lo`` with ``hi, lo`` in [-128, 127].
OPERAND_BITS = 15
LIMB_BITS = 8
# oneDNN's s8s8 kernels add 128 to ``a`` (u8) and subtract a compensation: terms up to 255 * 128, so
# the int32 sums of 2K of them stay exact for K <= 2^15.
K_CHUNK = 1 << 14
# float64 path: K chunks whose bit width keeps partial sums below 2^53.
F64_K_CHUNK = 4096
# 2-D products with at least this many multiply-adds use int8 limbs (see the module doc).
INT8_MIN_MACS = 1 << 26

_exact_int8: dict[str, bool] = {}
_log = logging.getLogger(__name__)


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


def int8_gemm_is_exact(device: torch.device) -> bool:
    """Whether ``_int_mm`` on ``device`` sums full-range int8 products exactly (cached per device).

    VNNI, AMX and CUDA kernels accumulate in int32 and are exact. oneDNN's kernels for CPUs without
    VNNI (AVX2 or AVX-512 without DL Boost, SSE4.1) add pairs of u8*s8 products into saturating
    int16, which clips the extreme limb values tried here; on such machines ``exact_bmm_int8``
    computes the same integer sums as float64 GEMMs instead (slower, the same bits).
    """
    key = str(device)
    if key not in _exact_int8:
        _exact_int8[key] = _probe_int8_gemm(device)
        if not _exact_int8[key]:
            _log.warning(
                "torch._int_mm is not exact on %s (no VNNI?): repro-v1 GEMMs use float64 there "
                "(same bits, slower)",
                key,
            )
    return _exact_int8[key]


def _probe_int8_gemm(device: torch.device) -> bool:
    """Extreme limb patterns (where int16 pair sums would saturate) and random ones, odd shapes."""
    gen = torch.Generator().manual_seed(0)
    for m, k, n in ((32, 512, 32), (1, 24, 8), (67, 136, 40)):
        a = torch.where(torch.arange(m * k).reshape(m, k) % 3 == 0, -128, 127).to(torch.int8)
        b = torch.where(torch.arange(k * n).reshape(k, n) % 5 < 2, -128, 127).to(torch.int8)
        pairs = [
            (a, b),
            (torch.full_like(a, 127), torch.full_like(b, 127)),
            (torch.full_like(a, 127), torch.full_like(b, -128)),
            (torch.full_like(a, -128), torch.full_like(b, -128)),
            (
                torch.randint(-128, 128, (m, k), generator=gen, dtype=torch.int8),
                torch.randint(-128, 128, (k, n), generator=gen, dtype=torch.int8),
            ),
        ]
        for x, y in pairs:
            got = torch.empty(m, n, dtype=torch.int32, device=device)
            _int_mm(x.to(device), y.to(device), out=got)
            if not bool(torch.equal(got.cpu().double(), x.double() @ y.double())):
                return False
    return True


def limb_stack(x: Tensor, k_dim: int, top_first: bool, role: str | None = None) -> Quantized:
    """Quantize ``x`` per slice along ``k_dim`` and split it into two int8 limbs.

    ``q = round(x * 2**shift) = hi * 2**8 + lo`` with ``|q| < 2**15`` and ``hi, lo`` in
    [-128, 127] (``hi = floor(q / 2**8 + 1/2)``). The limbs are stacked along ``k_dim`` (size
    ``2 K``) in the order ``hi, lo`` (``top_first``: the ``a`` operand, used through the prefixes
    ``[hi]`` and ``[hi, lo]``) or ``lo, hi`` (the ``b`` operand, used through suffixes), so each
    product in ``exact_bmm_int8`` is one GEMM on views. The stack is laid out like ``x`` in memory
    (an ``x`` whose last two dims are transposed gives a transposed stack).

    Every step is exact: scaling by a power of two, ``round`` (half to even), ``q / 2**8 + 1/2``
    (at most 15 significant bits), ``floor`` and ``q - 2**8 hi`` (an integer below 2^8). Returns
    ``Quantized(stack, inv_scale, amax, finite)``, ``inv_scale`` and ``amax`` keeping ``k_dim``
    with size 1. With a ``role`` the fused kernel writes the stack into a ``workspace`` buffer.
    """
    return _quantized(
        x,
        k_dim,
        lambda lib, phys, pk: native_kernels.limb_stack(
            lib, phys, pk, top_first, OPERAND_BITS, role
        ),
        lambda phys, pk: _limb_stack_torch(phys, pk, top_first),
    )


def _quantized(
    x: Tensor,
    k_dim: int,
    fused: Callable[[ctypes.CDLL, Tensor, int], Quantized],
    definition: Callable[[Tensor, int], Quantized],
) -> Quantized:
    """Quantize ``x`` per slice along ``k_dim`` on its contiguous layout (``_physical``), with the
    fused kernel where it applies, else the torch-op ``definition`` (the same bits)."""
    phys, pk, flip = _physical(x, k_dim)
    lib = native_kernels.kernels() if _fusable(phys) and pk > 0 else None
    out = fused(lib, phys, pk) if lib is not None else definition(phys, pk)
    return out.transposed() if flip else out


def _physical(x: Tensor, k_dim: int) -> tuple[Tensor, int, bool]:
    """``(phys, pk, flip)``: ``x`` as a contiguous tensor (``x`` itself, or the tensor whose
    transpose of the last two dims ``x`` is, ``flip``) and the slice dim ``k_dim`` in it."""
    k_dim %= x.dim()
    flip = not x.is_contiguous() and x.transpose(-1, -2).is_contiguous()
    if not flip:
        return x.contiguous(), k_dim, False
    if k_dim >= x.dim() - 2:
        k_dim = 2 * x.dim() - 3 - k_dim  # the other one of the last two dims
    return x.transpose(-1, -2), k_dim, True


def _fusable(t: Tensor) -> bool:
    """Whether the fused C kernels apply: a contiguous 3-D float32 CPU tensor."""
    return t.device.type == "cpu" and t.dtype == torch.float32 and t.dim() == 3 and t.numel() > 0


def _limb_stack_torch(phys: Tensor, pk: int, top_first: bool) -> Quantized:
    """``limb_stack`` on contiguous ``phys`` with torch ops (the definition the C kernel matches):
    ``quantize`` to ``OPERAND_BITS``, then the exact split into limbs."""
    whole = quantize(phys, pk, OPERAND_BITS)
    shape = list(phys.shape)
    q = torch.empty([*shape[:pk], 2, *shape[pk:]], dtype=torch.int8, device=phys.device)
    q_hi, q_lo = (q.select(pk, i) for i in ((0, 1) if top_first else (1, 0)))
    # Float temporaries stay contiguous; only the (exact) int8 conversions write into the stack.
    hi = torch.mul(whole.q, 2.0**-LIMB_BITS).add_(0.5).floor_()
    q_hi.copy_(hi)
    q_lo.copy_(whole.q.sub_(hi, alpha=1 << LIMB_BITS))  # exact (alpha a power of two: fused or not)
    shape[pk] *= 2
    return whole._replace(q=q.reshape(shape))


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
    batch, m, k = a.shape
    if k == 0:
        return a.new_zeros(batch, m, b.shape[-1])
    total: Tensor | None = None
    for k0 in range(0, k, F64_K_CHUNK):
        k1 = min(k0 + F64_K_CHUNK, k)
        bits = min(24, (53 - math.ceil(math.log2(max(k1 - k0, 1)))) // 2)
        qa = _quantize_f64(a[..., k0:k1], 2, bits, "a")
        qb = _quantize_f64(b[..., k0:k1, :], 1, bits, "b")
        prod = workspace.scratch("c", (batch, m, b.shape[-1]), torch.float64, a.device)
        torch.bmm(qa.q, qb.q, out=prod)
        lib = native_kernels.kernels() if prod.device.type == "cpu" else None
        if lib is not None:
            part = native_kernels.rescale_f64(lib, prod, qa.inv, qb.inv)
        else:
            part = prod.mul_(qa.inv.double()).mul_(qb.inv.double()).to(torch.float32)
        part = _poison_non_finite(part, qa, qb)
        total = part if total is None else total.add_(part)
    assert total is not None
    return total


def _quantize_f64(x: Tensor, k_dim: int, bits: int, role: str) -> Quantized:
    """``quantize(x, k_dim, bits)`` with ``q`` as float64 (a fused kernel where available, writing
    into the ``workspace`` buffer of ``role``)."""

    def definition(phys: Tensor, pk: int) -> Quantized:
        out = quantize(phys, pk, bits)
        return out._replace(q=out.q.double())

    return _quantized(
        x,
        k_dim,
        lambda lib, phys, pk: native_kernels.quantize_f64(lib, phys, pk, bits, role),
        definition,
    )


def exact_bmm_int8(a: Tensor, b: Tensor, *, use_int_mm: bool | None = None) -> Tensor:
    """``a @ b`` for float32 ``a`` [B, M, K], ``b`` [B, K, N] from int8 limbs (see the module doc).

    ``use_int_mm`` (default: whether ``_int_mm`` is exact on this device) picks how the integer
    limb sums are computed; both ways give the same bits. ``_int_mm`` is 2-D, so batches loop in
    Python.
    """
    if use_int_mm is None:
        use_int_mm = int8_gemm_is_exact(a.device)
    batch, m, k = a.shape
    n = b.shape[-1]
    if k == 0:
        return a.new_zeros(batch, m, n)
    chunks = math.ceil(k / K_CHUNK)
    step = math.ceil(k / chunks)
    total: Tensor | None = None
    for k0 in range(0, k, step):
        part = _exact_bmm_chunk(a[..., k0 : k0 + step], b[:, k0 : k0 + step], use_int_mm)
        total = part if total is None else total.add_(part)
    assert total is not None
    return total


def _exact_bmm_chunk(a: Tensor, b: Tensor, use_int_mm: bool) -> Tensor:
    """One K chunk: ``high = a_hi b_hi`` and ``mid = a_hi b_lo + a_lo b_hi``, exact integer sums.

    ``a_lo b_lo`` (below 2^-15 of the top product) is dropped. The combine ``mid + 2**8 high``
    rounds once in float32 (a power-of-two ``alpha`` is a single rounding whether or not a kernel
    fuses it into an FMA), then scales by powers of two (exact).
    """
    batch, m, k = a.shape
    n = b.shape[-1]
    qa, qb = limb_stack(a, 2, True, "a"), limb_stack(b, 1, False, "b")
    if use_int_mm:
        prods = workspace.scratch("c", (2, batch, m, n), torch.int32, a.device)
        # Small per-batch GEMMs run on one thread: waking sleeping OpenMP workers for each call
        # costs more than the call. Thread counts never change the (exact) products.
        threads = torch.get_num_threads()
        if batch > 1 and threads > 1 and not a.is_cuda:
            torch.set_num_threads(1)
        try:
            for i in range(batch):
                for j, width in enumerate((1, 2)):
                    _int_mm(qa.q[i, :, : width * k], qb.q[i, (2 - width) * k :], out=prods[j, i])
        finally:
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
    else:
        # Products of int8 limbs below 2^14, sums of 2K of them below 2^53: exact in float64.
        fa, fb = qa.q.double(), qb.q.double()
        prods = torch.stack([torch.bmm(fa[..., :k], fb[:, k:]), torch.bmm(fa, fb)])
    lib = native_kernels.kernels() if prods.dtype == torch.int32 and _fusable(a) else None
    if lib is not None:
        out = native_kernels.combine(lib, prods[0], prods[1], qa.inv, qb.inv)
    else:
        out = prods[1].to(torch.float32)
        out.add_(prods[0].to(torch.float32), alpha=1 << LIMB_BITS)
        out.mul_(qa.inv * float(1 << LIMB_BITS)).mul_(qb.inv)
    del prods
    return _poison_non_finite(out, qa, qb)


def _poison_non_finite(out: Tensor, a: Quantized, b: Quantized) -> Tensor:
    """NaN out the outputs whose row of ``a`` or column of ``b`` held a NaN or infinity."""
    if a.finite and b.finite:
        return out
    finite_rows, finite_cols = torch.isfinite(a.amax), torch.isfinite(b.amax)
    return torch.where(finite_rows & finite_cols, out, float("nan"))
