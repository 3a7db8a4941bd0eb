"""The fused C kernels of the int8 GEMM path compute exactly what the torch-op definitions compute.

A machine without a C compiler (or with ``CROWDTRAIN_REPRO_KERNELS=0``) runs the torch ops, so the
two must agree bit for bit on every input: odd shapes, both memory layouts, zeros, subnormals,
the largest floats, NaN and infinities. The cross-variant op tests also run the whole case list
with the kernels switched off (``test_repro_ops``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from node.runtime.repro import gemm, native_kernels

needs_kernels = pytest.mark.skipif(
    native_kernels.kernels() is None, reason="no C compiler: the torch ops are the only path"
)


def test_kernels_build_wherever_a_compiler_exists() -> None:
    if shutil.which("cc") or shutil.which("gcc"):
        assert native_kernels.kernels() is not None


def _awkward(rng: np.random.Generator, rows: int, cols: int) -> torch.Tensor:
    """Random magnitudes over 60 binades, plus rows/columns of zeros, subnormals, extremes, NaN, inf."""
    x = rng.standard_normal((rows, cols)) * np.exp2(rng.integers(-30, 30, size=(rows, 1)))
    t = torch.from_numpy(x.astype(np.float32))
    t[0] = 0.0
    t[1 % rows, :] = 1e-41  # subnormal
    t[2 % rows, :: max(cols // 3, 1)] = -3.4e38
    t[3 % rows, 1 % cols] = float("nan")
    t[4 % rows, 0] = float("-inf")
    t[:, 2 % cols] = 2.0**-149
    t[5 % rows, :] = 127.5 * 2.0**-8  # ties at the limb split
    return t


@needs_kernels
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (9, 300), (300, 9), (257, 513)])
@pytest.mark.parametrize("k_dim", [1, 2])
@pytest.mark.parametrize("transposed", [False, True], ids=["contiguous", "transposed"])
def test_limb_stack_matches_torch_ops(shape: tuple[int, int], k_dim: int, transposed: bool) -> None:
    rng = np.random.default_rng(sum(shape) + k_dim)
    base = _awkward(rng, *shape).unsqueeze(0)
    x = base.transpose(1, 2).contiguous().transpose(1, 2) if transposed else base
    fused = gemm.limb_stack(x, k_dim, top_first=k_dim == 2)
    phys = x.transpose(1, 2) if transposed else x
    pk = 3 - k_dim if transposed else k_dim
    q, inv, amax = gemm._limb_stack_torch(phys, pk, top_first=k_dim == 2)
    if transposed:
        q, inv, amax = q.transpose(1, 2), inv.transpose(1, 2), amax.transpose(1, 2)
    assert torch.equal(fused[0], q)
    finite = torch.isfinite(amax)
    assert torch.equal(torch.isfinite(fused[2]), finite)
    assert torch.equal(fused[1][finite], inv[finite]) and torch.equal(
        fused[2][finite], amax[finite]
    )


@needs_kernels
def test_combine_matches_torch_ops() -> None:
    """int32 sums beyond 2^24 (the float32 conversion rounds), scales across the exponent range."""
    gen = torch.Generator().manual_seed(3)
    high = torch.randint(-(2**31), 2**31 - 1, (1, 37, 53), generator=gen, dtype=torch.int32)
    mid = torch.randint(-(2**31), 2**31 - 1, (1, 37, 53), generator=gen, dtype=torch.int32)
    inv_a = torch.exp2(torch.randint(-114, 20, (1, 37, 1), generator=gen).float())
    inv_b = torch.exp2(torch.randint(-114, 20, (1, 1, 53), generator=gen).float())
    lib = native_kernels.kernels()
    assert lib is not None
    want = mid.to(torch.float32).add_(high.to(torch.float32), alpha=256)
    want.mul_(inv_a * 256.0).mul_(inv_b)
    got = native_kernels.combine(lib, high, mid, inv_a, inv_b)
    assert torch.equal(got.nan_to_num(7.0), want.nan_to_num(7.0))


def test_a_failing_compiler_falls_back_to_torch_ops(tmp_path: Path) -> None:
    """No usable compiler: a warning, and the int8 GEMM still gives the same bits."""
    code = (
        "import torch, hashlib\n"
        "from node.runtime.repro import gemm, native_kernels\n"
        "g = torch.Generator().manual_seed(1)\n"
        "a, b = torch.randn(1, 300, 520, generator=g), torch.randn(1, 520, 440, generator=g)\n"
        "print(native_kernels.kernels() is None)\n"
        "print(hashlib.sha256(gemm.exact_bmm_int8(a, b).numpy().tobytes()).hexdigest())\n"
    )
    runs = []
    for env in ({"CC": "false", "CROWDTRAIN_CACHE_DIR": str(tmp_path)}, {}):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(out)
    assert runs[0].stdout.splitlines()[0] == "True"
    assert "fused kernels unavailable" in runs[0].stderr
    assert runs[0].stdout.splitlines()[1] == runs[1].stdout.splitlines()[1]
