"""Fused C kernels for repro-v1's hot paths, built with the system C compiler on first use.

``kernels_gemm.c``: the quantization, limb split and rescale/combine around the exact GEMMs
(``gemm``); ``kernels_rows.c``: GELU, softmax, layer norm, tree sums and dropout. They only make
repro-v1 faster, never different: each kernel performs the same IEEE operations as the torch-op
chain it replaces, in the same order, so a machine without a compiler, or with
``CROWDTRAIN_REPRO_KERNELS=0``, computes the same bits through torch ops (the test suite compares
both, also as whole-model variants). Work buffers are allocated here (torch), never in C. The shared object is cached under
``$CROWDTRAIN_CACHE_DIR`` (default ``~/.cache/crowdtrain``), keyed by the source, the flags, the
compiler and the CPU, and written atomically so concurrent first runs do not collide.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import math
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from node.runtime.repro import workspace
from node.runtime.repro.quantize import Quantized

SOURCES = [Path(__file__).with_name(name) for name in ("kernels_gemm.c", "kernels_rows.c")]
# No -ffast-math, no FMA contraction: the compiler must keep every IEEE operation as written.
# (-fno-math-errno only lets sqrtf vectorize without errno checks: a correctly rounded result
# has one value.)
BASE_FLAGS = [
    "-O3",
    "-std=c99",
    "-fPIC",
    "-shared",
    "-fopenmp",
    "-ffp-contract=off",
    "-fno-trapping-math",
    "-fno-math-errno",
]
ENV_SWITCH = "CROWDTRAIN_REPRO_KERNELS"

_log = logging.getLogger(__name__)
_c_int64, _c_int, _ptr = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p


def cache_dir() -> Path:
    configured = os.environ.get("CROWDTRAIN_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crowdtrain"


@functools.cache
def kernels() -> ctypes.CDLL | None:
    """The loaded kernels, or None (switched off, no compiler, or the build failed: logged once)."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return None
    try:
        lib = ctypes.CDLL(str(_build()))
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        _log.warning("repro-v1 fused kernels unavailable (%s): using torch ops (same bits)", exc)
        return None
    i64, f32 = _c_int64, ctypes.c_float
    signatures: dict[str, list[Any]] = {
        "ct_limbs_rows": [_ptr, i64, i64, _ptr, _ptr, i64, _ptr, _ptr, _c_int, _c_int],
        "ct_limbs_cols": [_ptr, i64, i64, i64, _ptr, _ptr, i64, i64, _ptr, _ptr, _c_int, _c_int],
        "ct_quant_rows": [_ptr, i64, i64, _ptr, _ptr, _ptr, _c_int, _c_int],
        "ct_quant_cols": [_ptr, i64, i64, i64, _ptr, _ptr, _ptr, _c_int, _c_int],
        "ct_combine": [_ptr, _ptr, i64, i64, i64, _ptr, _ptr, _ptr, _c_int],
        "ct_rescale_f64": [_ptr, i64, i64, i64, _ptr, _ptr, _ptr, _c_int],
        "ct_rows_init": [_ptr, _c_int],
        "ct_gelu": [_ptr, i64, _ptr, _ptr, _c_int],
        "ct_gelu_backward": [_ptr, _ptr, _ptr, i64, _ptr, _c_int],
        "ct_silu": [_ptr, i64, _ptr, _ptr, _c_int],
        "ct_silu_backward": [_ptr, _ptr, _ptr, i64, _ptr, _c_int],
        "ct_softmax": [_ptr, i64, i64, _ptr, _ptr, _ptr, _ptr, i64, _c_int],
        "ct_softmax_backward": [_ptr, _ptr, i64, i64, _ptr, _ptr, i64, _c_int],
        "ct_layer_norm": [_ptr, _ptr, _ptr, i64, i64, f32, _ptr, _ptr, _ptr, _ptr, i64, _c_int],
        "ct_layer_norm_backward": [_ptr, _ptr, _ptr, _ptr, i64, i64, _ptr, _ptr, i64, _c_int],
        "ct_tree_sum": [_ptr, i64, i64, i64, i64, _ptr, _ptr, i64, _c_int],
        "ct_tree_sum_flat": [_ptr, i64, i64, i64, i64, _ptr, _ptr, _ptr, i64, _c_int],
        "ct_rms_norm": [_ptr, _ptr, i64, i64, f32, _ptr, _ptr, _ptr, _ptr, i64, _c_int],
        "ct_rms_norm_backward": [_ptr, _ptr, _ptr, _ptr, i64, i64, _ptr, _ptr, i64, _c_int],
        "ct_dropout": [_ptr, _ptr, i64, f32, _ptr, _c_int],
        "ct_sqrt": [_ptr, i64, _ptr, _c_int],
        "ct_cross_entropy_backward": [_ptr, _ptr, i64, i64, f32, _ptr, _c_int],
    }
    for name, argtypes in signatures.items():
        getattr(lib, name).argtypes = argtypes
    for name in ("ct_limbs_rows", "ct_limbs_cols", "ct_quant_rows", "ct_quant_cols"):
        getattr(lib, name).restype = _c_int64  # the number of non-finite slices
    values = _rows_constants()
    constants = (ctypes.c_float * len(values))(*values)
    if lib.ct_rows_init(constants, len(constants)) != 0:
        _log.warning("repro-v1 fused kernels do not match their Python constants: not used")
        return None
    return lib


def _cpu_id() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    return next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")


def _build() -> Path:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler (cc) on PATH")
    version = subprocess.run(
        [compiler, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    source = b"".join(path.read_bytes() for path in SOURCES)
    machine = (version, _cpu_id(), platform.machine())
    for flags in ([*BASE_FLAGS, "-march=native"], BASE_FLAGS):
        key = hashlib.sha256(
            b"\0".join(x.encode() for x in (*flags, *machine)) + source
        ).hexdigest()[:24]
        target = cache_dir() / f"repro-kernels-{key}.so"
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            built = Path(tmp) / "k.so"
            done = subprocess.run(
                [compiler, *flags, *map(str, SOURCES), "-o", str(built), "-lm"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if done.returncode == 0:
                os.replace(built, target)
                return target
        last_error = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
    raise RuntimeError(f"{compiler} failed on the repro-v1 kernels: {last_error[0]}")


def _p(t: Tensor) -> int:
    return int(t.data_ptr())


def _stats(phys: Tensor, pk: int) -> tuple[Tensor, Tensor]:
    batch, rows, cols = phys.shape
    shape = [batch, rows, 1] if pk == 2 else [batch, 1, cols]
    return torch.empty(shape, dtype=torch.float32), torch.empty(shape, dtype=torch.float32)


def limb_stack(
    lib: ctypes.CDLL, phys: Tensor, pk: int, top_first: bool, bits: int, role: str | None = None
) -> Quantized:
    """``gemm._limb_stack_torch`` on a contiguous float32 CPU ``phys`` [B, R, C], slices along
    ``pk`` (1: per column, 2: per row): the stack laid out like ``phys``, ``inv`` and ``amax``.
    With a ``role`` the stack is a ``workspace.scratch`` buffer (valid until the role's next use)."""
    batch, rows, cols = phys.shape
    shape = list(phys.shape)
    q = _buffer([*shape[:pk], 2, *shape[pk:]], torch.int8, role)
    hi, lo = (q.select(pk, i) for i in ((0, 1) if top_first else (1, 0)))
    inv, amax = _stats(phys, pk)
    threads = torch.get_num_threads()
    if pk == 2:
        bad = lib.ct_limbs_rows(
            _p(phys), batch * rows, cols, _p(hi), _p(lo), 2 * cols, _p(inv), _p(amax), bits, threads
        )
    else:
        bad = lib.ct_limbs_cols(
            _p(phys), batch, rows, cols, _p(hi), _p(lo), 2 * rows * cols, cols,
            _p(inv), _p(amax), bits, threads,
        )  # fmt: skip
    shape[pk] *= 2
    return Quantized(q.reshape(shape), inv, amax, bad == 0)


def quantize_f64(
    lib: ctypes.CDLL, phys: Tensor, pk: int, bits: int, role: str | None = None
) -> Quantized:
    """``quantize.quantize(phys, pk, bits)`` with ``q`` as float64, for a contiguous float32 CPU
    ``phys`` [B, R, C] (``pk`` 1 or 2); ``role`` as in ``limb_stack``."""
    batch, rows, cols = phys.shape
    q = _buffer(list(phys.shape), torch.float64, role)
    inv, amax = _stats(phys, pk)
    threads = torch.get_num_threads()
    if pk == 2:
        bad = lib.ct_quant_rows(
            _p(phys), batch * rows, cols, _p(q), _p(inv), _p(amax), bits, threads
        )
    else:
        bad = lib.ct_quant_cols(
            _p(phys), batch, rows, cols, _p(q), _p(inv), _p(amax), bits, threads
        )
    return Quantized(q, inv, amax, bad == 0)


def _buffer(shape: list[int], dtype: torch.dtype, role: str | None) -> Tensor:
    if role is None:
        return torch.empty(shape, dtype=dtype)
    return workspace.scratch(role, shape, dtype, torch.device("cpu"))


def _scales(inv_a: Tensor, inv_b: Tensor, batch: int) -> tuple[Tensor, Tensor]:
    """Per-batch scale vectors, contiguous (a broadcast batch of one is expanded)."""
    return (
        inv_a.expand(batch, -1, 1).contiguous(),
        inv_b.expand(batch, 1, -1).contiguous(),
    )


def combine(lib: ctypes.CDLL, high: Tensor, mid: Tensor, inv_a: Tensor, inv_b: Tensor) -> Tensor:
    """``(mid + 256 high) * (inv_a * 256) * inv_b`` in float32 for int32 [B, M, N] sums."""
    batch, rows, cols = high.shape
    out = torch.empty(batch, rows, cols, dtype=torch.float32)
    sa, sb = _scales(inv_a, inv_b, batch)
    lib.ct_combine(
        _p(high), _p(mid), batch, rows, cols, _p(sa), _p(sb), _p(out), torch.get_num_threads()
    )
    return out


def rescale_f64(lib: ctypes.CDLL, prod: Tensor, inv_a: Tensor, inv_b: Tensor) -> Tensor:
    """``(prod * inv_a * inv_b).to(float32)`` for a contiguous float64 [B, M, N] product."""
    batch, rows, cols = prod.shape
    out = torch.empty(batch, rows, cols, dtype=torch.float32)
    sa, sb = _scales(inv_a, inv_b, batch)
    lib.ct_rescale_f64(
        _p(prod), batch, rows, cols, _p(sa), _p(sb), _p(out), torch.get_num_threads()
    )
    return out


def _rows_constants() -> list[float]:
    """The float32 constants of the row kernels, in kernels_rows.c's order (from the Python defs)."""
    from node.runtime.repro import functions_pointwise as P
    from node.runtime.repro import transcendental as T

    return [
        T.LOG2E, T.LN2_HI, T.LN2_LO, T.EXP_FLUSH, T.EXP_OVERFLOW, *T.EXPM1_COEFFS,
        P.GELU_A, P.GELU_M2C, P.GELU_3A, P.GELU_2C,
    ]  # fmt: skip


def rows_applicable(*tensors: Tensor) -> ctypes.CDLL | None:
    """The kernels, if every tensor is a contiguous float32 CPU tensor with at least one element."""
    for t in tensors:
        if t.device.type != "cpu" or t.dtype != torch.float32 or not t.is_contiguous():
            return None
        if t.numel() == 0:
            return None
    return kernels()


def gated(lib: ctypes.CDLL, name: str, x: Tensor) -> tuple[Tensor, Tensor]:
    """Forward of a sigmoid-gated activation ``x s`` (``ct_gelu``, ``ct_silu``): ``(y, s)``."""
    y, s = torch.empty_like(x), torch.empty_like(x)
    getattr(lib, f"ct_{name}")(_p(x), x.numel(), _p(y), _p(s), torch.get_num_threads())
    return y, s


def gated_backward(lib: ctypes.CDLL, name: str, x: Tensor, s: Tensor, grad: Tensor) -> Tensor:
    """Backward of :func:`gated` (``ct_gelu_backward``, ``ct_silu_backward``)."""
    out = torch.empty_like(x)
    kernel = getattr(lib, f"ct_{name}_backward")
    kernel(_p(x), _p(s), _p(grad), x.numel(), _p(out), torch.get_num_threads())
    return out


def _pow2_at_least(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def _scratch(per_thread: int) -> tuple[Tensor, int, int]:
    """``(buffer, per_thread, threads)``: one float32 work area per OpenMP thread, allocated here
    so the kernels never allocate."""
    threads = torch.get_num_threads()
    return torch.empty(threads * per_thread, dtype=torch.float32), per_thread, threads


def softmax(lib: ctypes.CDLL, x: Tensor) -> Tensor:
    """Softmax over the last dim."""
    n = x.shape[-1]
    p = torch.empty_like(x)
    scratch, per, threads = _scratch(_pow2_at_least(n))
    lib.ct_softmax(_p(x), x.numel() // n, n, _p(p), None, None, _p(scratch), per, threads)
    return p


def softmax_stats(lib: ctypes.CDLL, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(p, row_max, row_sum)``: softmax over the last dim, each row's max (``amax + 0.0``) and
    the tree sum of ``exp(x - max)``, the last two with the last dim kept (size 1)."""
    n = x.shape[-1]
    p = torch.empty_like(x)
    stats = torch.empty(2, *x.shape[:-1], 1, dtype=torch.float32)
    scratch, per, threads = _scratch(_pow2_at_least(n))
    lib.ct_softmax(
        _p(x), x.numel() // n, n, _p(p), _p(stats[0]), _p(stats[1]), _p(scratch), per, threads
    )
    return p, stats[0], stats[1]


def softmax_backward(lib: ctypes.CDLL, grad: Tensor, p: Tensor) -> Tensor:
    n = p.shape[-1]
    out = torch.empty_like(p)
    scratch, per, threads = _scratch(_pow2_at_least(n))
    lib.ct_softmax_backward(_p(grad), _p(p), p.numel() // n, n, _p(out), _p(scratch), per, threads)
    return out


def layer_norm(
    lib: ctypes.CDLL, x: Tensor, weight: Tensor, bias: Tensor | None, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    """``LayerNorm.forward`` over the last dim: ``(y, xhat, rstd)``."""
    n = x.shape[-1]
    y, xhat = torch.empty_like(x), torch.empty_like(x)
    rstd = torch.empty(*x.shape[:-1], 1, dtype=torch.float32)
    scratch, per, threads = _scratch(_pow2_at_least(n))
    lib.ct_layer_norm(
        _p(x), _p(weight), None if bias is None else _p(bias), x.numel() // n, n, eps,
        _p(y), _p(xhat), _p(rstd), _p(scratch), per, threads,
    )  # fmt: skip
    return y, xhat, rstd


def layer_norm_backward(
    lib: ctypes.CDLL, grad: Tensor, weight: Tensor, xhat: Tensor, rstd: Tensor
) -> Tensor:
    n = xhat.shape[-1]
    dx = torch.empty_like(xhat)
    scratch, per, threads = _scratch(2 * _pow2_at_least(n))
    lib.ct_layer_norm_backward(
        _p(grad), _p(weight), _p(xhat), _p(rstd), xhat.numel() // n, n, _p(dx),
        _p(scratch), per, threads,
    )  # fmt: skip
    return dx


def rms_norm(
    lib: ctypes.CDLL, x: Tensor, weight: Tensor, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    """``RMSNorm.forward`` over the last dim: ``(y, xhat, rstd)``."""
    n = x.shape[-1]
    y, xhat = torch.empty_like(x), torch.empty_like(x)
    rstd = torch.empty(*x.shape[:-1], 1, dtype=torch.float32)
    scratch, per, threads = _scratch(_pow2_at_least(n))
    lib.ct_rms_norm(
        _p(x), _p(weight), x.numel() // n, n, eps, _p(y), _p(xhat), _p(rstd), _p(scratch), per,
        threads,
    )  # fmt: skip
    return y, xhat, rstd


def rms_norm_backward(
    lib: ctypes.CDLL, grad: Tensor, weight: Tensor, xhat: Tensor, rstd: Tensor
) -> Tensor:
    n = xhat.shape[-1]
    dx = torch.empty_like(xhat)
    scratch, per, threads = _scratch(2 * _pow2_at_least(n))
    lib.ct_rms_norm_backward(
        _p(grad), _p(weight), _p(xhat), _p(rstd), xhat.numel() // n, n, _p(dx),
        _p(scratch), per, threads,
    )  # fmt: skip
    return dx


# A vector at least this long is summed by column blocks in parallel (``_tree_sum_flat``).
FLAT_MIN = 1 << 16
FLAT_ROWS = 1024


def tree_sum(lib: ctypes.CDLL, x: Tensor, dim: int) -> Tensor:
    """``reduce.tree_sum(x, dim, keepdim=True)`` for a contiguous float32 ``x`` (``x.shape[dim] > 0``)."""
    outer = math.prod(x.shape[:dim])
    n = x.shape[dim]
    inner = math.prod(x.shape[dim + 1 :])
    if outer == 1 and inner == 1 and n >= FLAT_MIN:
        return _tree_sum_flat(lib, x, n).reshape([1] * x.dim())
    out = torch.empty([*x.shape[:dim], 1, *x.shape[dim + 1 :]], dtype=torch.float32)
    width = _pow2_at_least(n)
    stride = min(inner, 64)  # columns per job; at most 4 MiB of scratch per thread
    while stride > 1 and width * stride > 1 << 20:
        stride //= 2
    scratch, per, threads = _scratch(width * stride)
    lib.ct_tree_sum(_p(x), outer, n, inner, stride, _p(out), _p(scratch), per, threads)
    return out


def _tree_sum_flat(lib: ctypes.CDLL, x: Tensor, n: int) -> Tensor:
    """The tree sum of ``n`` contiguous floats as a 1-element tensor, over all threads.

    Its padded width ``w`` viewed as ``[FLAT_ROWS, w / FLAT_ROWS]``: the tree's first folds add
    rows, so it equals the tree over the column trees (``ct_tree_sum_flat``), whose column
    blocks are jobs for every thread where the 1-D tree of ``ct_tree_sum`` is one job.
    """
    width = _pow2_at_least(n)
    rows = min(width, FLAT_ROWS)
    cols = width // rows
    stride = min(cols, 64)
    colsum = torch.empty(cols, dtype=torch.float32)
    out = torch.empty(1, dtype=torch.float32)
    scratch, per, threads = _scratch(rows * stride)
    lib.ct_tree_sum_flat(
        _p(x), n, rows, cols, stride, _p(colsum), _p(out), _p(scratch), per, threads
    )
    return out


def cross_entropy_backward(lib: ctypes.CDLL, p: Tensor, targets: Tensor, scale: float) -> Tensor:
    """``(p - onehot(targets)) * scale`` for contiguous float32 ``p`` [rows, n] and int64 targets."""
    rows, n = p.shape
    out = torch.empty_like(p)
    lib.ct_cross_entropy_backward(
        _p(p), _p(targets), rows, n, scale, _p(out), torch.get_num_threads()
    )
    return out


def sqrt(lib: ctypes.CDLL, x: Tensor) -> Tensor:
    """``transcendental.sqrt(x)`` (correctly rounded) for a contiguous float32 ``x``."""
    out = torch.empty_like(x)
    lib.ct_sqrt(_p(x), x.numel(), _p(out), torch.get_num_threads())
    return out


def dropout(lib: ctypes.CDLL, x: Tensor, keep: Tensor, scale: float) -> Tensor:
    """``where(keep, x * scale, 0)`` for contiguous float32 ``x`` and bool ``keep`` of its shape."""
    out = torch.empty_like(x)
    lib.ct_dropout(_p(x), _p(keep), x.numel(), scale, _p(out), torch.get_num_threads())
    return out
