"""The exact GEMM paths (int8 limbs on ``torch._int_mm``; float64 integer products) are accurate,
independent of blocking and layout, poison non-finite inputs, and ``exact_bmm`` picks one from the
shapes alone."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
import torch

from node.runtime.repro.gemm import (
    INT8_MIN_MACS,
    exact_bmm,
    exact_bmm_f64,
    exact_bmm_int8,
    exact_mm,
    int8_gemm_is_exact,
)

Bmm = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PATHS = pytest.mark.parametrize("bmm", [exact_bmm_int8, exact_bmm_f64], ids=["int8", "f64"])


def _rand(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


def _mm(bmm: Bmm, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return bmm(a.unsqueeze(0), b.unsqueeze(0)).squeeze(0)


@pytest.mark.parametrize(
    ("bmm", "tol"), [(exact_bmm_int8, 1e-4), (exact_bmm_f64, 2e-6)], ids=["int8", "f64"]
)
def test_close_to_float64_and_blocking_independent(bmm: Bmm, tol: float) -> None:
    """Error relative to |row of a| |column of b|: 15-bit limbs ~3e-5, 23-bit float64 ~3e-7."""
    rng = np.random.default_rng(5)
    a, b = _rand(rng, 67, 1500), _rand(rng, 1500, 41)
    got = _mm(bmm, a, b)
    want = a.double() @ b.double()
    scale = a.double().norm(dim=1, keepdim=True) * b.double().norm(dim=0, keepdim=True)
    assert float(((got.double() - want).abs() / scale).max()) < tol
    # Rows computed alone (other blocking, other thread split) give the same bits.
    assert torch.equal(torch.cat([_mm(bmm, a[i : i + 1], b) for i in range(0, 67, 7)]), got[::7])


@PATHS
def test_layout_does_not_change_bits(bmm: Bmm) -> None:
    """Transposed operands and batching give the same bits."""
    rng = np.random.default_rng(6)
    a, b = _rand(rng, 33, 70), _rand(rng, 70, 19)
    got = _mm(bmm, a, b)
    assert torch.equal(_mm(bmm, a.t().contiguous().t(), b.t().contiguous().t()), got)
    batched = bmm(
        torch.stack([a, 2 * a]), torch.stack([b, b]).transpose(1, 2).contiguous().transpose(1, 2)
    )
    assert torch.equal(batched[0], got)
    assert torch.equal(batched[1], _mm(bmm, 2 * a, b))


@PATHS
def test_non_finite_inputs_poison_their_rows_and_columns(bmm: Bmm) -> None:
    rng = np.random.default_rng(7)
    a, b = _rand(rng, 5, 9), _rand(rng, 9, 4)
    a[2, 3] = float("nan")
    b[1, 2] = float("inf")
    got = _mm(bmm, a, b)
    assert bool(torch.isnan(got[2]).all()) and bool(torch.isnan(got[:, 2]).all())
    mask = torch.ones_like(got, dtype=torch.bool)
    mask[2] = False
    mask[:, 2] = False
    assert bool(torch.isfinite(got[mask]).all())


def test_the_path_depends_on_the_shapes_only() -> None:
    """Large 2-D products take int8 limbs, small or batched ones float64 (the two differ in bits)."""
    rng = np.random.default_rng(8)
    a, b = _rand(rng, 1024, 256), _rand(rng, 256, 256)
    assert INT8_MIN_MACS <= 1024 * 256 * 256
    big = exact_mm(a, b)
    assert torch.equal(big, _mm(exact_bmm_int8, a, b))
    assert not torch.equal(big, _mm(exact_bmm_f64, a, b))
    small = exact_mm(a[:8], b)
    assert torch.equal(small, _mm(exact_bmm_f64, a[:8], b))
    batched = exact_bmm(torch.stack([a, a]), torch.stack([b, b]))
    assert torch.equal(batched[0], _mm(exact_bmm_f64, a, b))


@pytest.mark.skipif(not int8_gemm_is_exact(torch.device("cpu")), reason="no exact int8 GEMM here")
def test_float64_limb_sums_give_the_int8_bits() -> None:
    """The fall-back for kernels that are not exact computes the same integer sums: same bits,
    across a K chunk boundary too."""
    rng = np.random.default_rng(9)
    a, b = _rand(rng, 1, 5, 17000), _rand(rng, 1, 17000, 6)
    b[0, 3, 2] = 1e30  # one huge column: its limbs are all extremes
    fast = exact_bmm_int8(a, b, use_int_mm=True)
    assert torch.equal(exact_bmm_int8(a, b, use_int_mm=False), fast)
    assert bool(torch.isfinite(fast).all())


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="oneDNN x86 ISAs")
def test_probe_finds_the_saturating_kernel_of_cpus_without_vnni() -> None:
    """oneDNN capped below VNNI adds u8*s8 pairs in saturating int16: the probe must see it, or
    repro-v1 would silently compute other bits on older CPUs."""
    code = "import torch; from node.runtime.repro.gemm import int8_gemm_is_exact as f; "
    code += "print(f(torch.device('cpu')))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


@PATHS
def test_empty_inner_dimension_gives_zeros(bmm: Bmm) -> None:
    got = bmm(torch.ones(2, 3, 0), torch.ones(2, 0, 4))
    assert torch.equal(got, torch.zeros(2, 3, 4))
