"""Fused C kernels for the int8 GEMM path (``kernels.c``), built with the system C compiler on first use.

They only make repro-v1 faster, never different: each kernel performs the same IEEE operations as
the torch-op chain it replaces (``gemm.limb_stack``, the combine in ``gemm._exact_bmm_chunk``), so a
machine without a compiler, or with ``CROWDTRAIN_REPRO_KERNELS=0``, computes the same bits through
torch ops (the test suite compares both). The shared object is cached under
``$CROWDTRAIN_CACHE_DIR`` (default ``~/.cache/crowdtrain``), keyed by the source, the flags, the
compiler and the CPU, and written atomically so concurrent first runs do not collide.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

SOURCE = Path(__file__).with_name("kernels.c")
# No -ffast-math, no FMA contraction: the compiler must keep every IEEE operation as written.
BASE_FLAGS = [
    "-O3",
    "-std=c99",
    "-fPIC",
    "-shared",
    "-fopenmp",
    "-ffp-contract=off",
    "-fno-trapping-math",
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
    limbs: list[Any] = [_ptr, _c_int64, _c_int64, _ptr, _ptr, _c_int64, _ptr, _ptr, _c_int, _c_int]
    lib.ct_limbs_rows.argtypes = lib.ct_limbs_cols.argtypes = limbs
    lib.ct_combine.argtypes = [_ptr, _ptr, _c_int64, _c_int64, _ptr, _ptr, _ptr, _c_int]
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
    source = SOURCE.read_bytes()
    for flags in ([*BASE_FLAGS, "-march=native"], BASE_FLAGS):
        key = hashlib.sha256(
            b"\0".join(x.encode() for x in (*flags, version, _cpu_id(), platform.machine()))
            + source
        ).hexdigest()[:24]
        target = cache_dir() / f"repro-kernels-{key}.so"
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            built = Path(tmp) / "k.so"
            done = subprocess.run(
                [compiler, *flags, str(SOURCE), "-o", str(built), "-lm"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if done.returncode == 0:
                os.replace(built, target)
                return target
        last_error = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
    raise RuntimeError(f"{compiler} failed on {SOURCE.name}: {last_error[0]}")


def _p(t: Tensor) -> int:
    return int(t.data_ptr())


def limb_stack(
    lib: ctypes.CDLL, phys: Tensor, pk: int, top_first: bool, bits: int
) -> tuple[Tensor, Tensor, Tensor]:
    """``gemm.limb_stack``'s work on a contiguous float32 CPU ``phys`` [B, R, C], slices along ``pk``
    (1: per column, 2: per row); returns the stack laid out like ``phys``, ``inv`` and ``amax``."""
    batch, rows, cols = phys.shape
    threads = torch.get_num_threads()
    shape = list(phys.shape)
    q = torch.empty([*shape[:pk], 2, *shape[pk:]], dtype=torch.int8)
    hi, lo = (q.select(pk, i) for i in ((0, 1) if top_first else (1, 0)))
    stat_shape = [batch, rows, 1] if pk == 2 else [batch, 1, cols]
    inv = torch.empty(stat_shape, dtype=torch.float32)
    amax = torch.empty(stat_shape, dtype=torch.float32)
    kernel, out_row = (lib.ct_limbs_rows, 2 * cols) if pk == 2 else (lib.ct_limbs_cols, cols)
    for b in range(batch):
        kernel(
            _p(phys[b]), rows, cols, _p(hi[b]), _p(lo[b]), out_row,
            _p(inv[b]), _p(amax[b]), bits, threads,
        )  # fmt: skip
    shape[pk] *= 2
    return q.reshape(shape), inv, amax


def combine(lib: ctypes.CDLL, high: Tensor, mid: Tensor, inv_a: Tensor, inv_b: Tensor) -> Tensor:
    """``(mid + 256 high) * (inv_a * 256) * inv_b`` in float32 for int32 [B, M, N] sums."""
    batch, rows, cols = high.shape
    out = torch.empty(batch, rows, cols, dtype=torch.float32)
    inv_a, inv_b = inv_a.contiguous(), inv_b.contiguous()
    threads = torch.get_num_threads()
    for b in range(batch):
        lib.ct_combine(
            _p(high[b]), _p(mid[b]), rows, cols, _p(inv_a[b]), _p(inv_b[b]), _p(out[b]), threads
        )
    return out
