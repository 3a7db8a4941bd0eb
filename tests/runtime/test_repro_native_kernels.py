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
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from node.runtime.repro import ReproOps, gemm, native_kernels

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
    want = gemm._limb_stack_torch(phys, pk, top_first=k_dim == 2)
    q, inv, amax, finite_all = want.transposed() if transposed else want
    assert fused.finite == finite_all == bool(torch.isfinite(amax).all())
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


@needs_kernels
@pytest.mark.parametrize(
    "shape", [(1, 1, 1, 1), (3, 5, 7, 3), (4, 33, 64, 40), (2, 67, 1500, 41), (1, 9, 5000, 4)]
)
@pytest.mark.parametrize("layout", ["nn", "tn", "nt", "tt"])
@pytest.mark.parametrize("path", ["f64", "int8"])
def test_exact_gemms_match_their_torch_definitions(
    shape: tuple[int, int, int, int], layout: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole products, fused vs torch ops: batches, transposed operands, K chunks (f64 > 4096),
    rows and columns of NaN/inf/zeros."""
    batch, m, k, n = shape
    rng = np.random.default_rng(m * k + n)
    a = torch.from_numpy(
        (rng.standard_normal((batch, m, k)) * np.exp2(rng.integers(-20, 20, (batch, m, 1)))).astype(
            np.float32
        )
    )
    b = torch.from_numpy(rng.standard_normal((batch, k, n)).astype(np.float32))
    if m > 2 and k > 3:
        a[0, 1, 2] = float("nan")
        b[-1, 1, n - 1] = float("inf")
        a[-1, 2] = 0.0
    if layout[0] == "t":
        a = a.transpose(1, 2).contiguous().transpose(1, 2)
    if layout[1] == "t":
        b = b.transpose(1, 2).contiguous().transpose(1, 2)
    product = gemm.exact_bmm_f64 if path == "f64" else gemm.exact_bmm_int8
    fused = product(a, b)
    monkeypatch.setattr(native_kernels, "kernels", lambda: None)
    reference = product(a, b)
    assert torch.equal(fused.nan_to_num(1.5, 2.5, 3.5), reference.nan_to_num(1.5, 2.5, 3.5))
    assert bool(torch.isnan(fused).any()) == (m > 2 and k > 3)


@needs_kernels
def test_products_keep_their_values_while_the_workspace_is_reused() -> None:
    """Intermediates live in reused per-thread buffers (``workspace``): a product's result is its
    own memory, unchanged by later products of other shapes and paths, and a repeat gives the
    same bits."""
    rng = np.random.default_rng(11)

    def rand(*shape: int) -> torch.Tensor:
        return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))

    a1, b1 = rand(3, 40, 70), rand(3, 70, 50)
    a2, b2 = rand(1, 600, 300), rand(1, 300, 500)
    first = [gemm.exact_bmm_f64(a1, b1), gemm.exact_bmm_int8(a1, b1)]
    kept = [t.clone() for t in first]
    others = [gemm.exact_bmm_f64(a2, b2), gemm.exact_bmm_int8(a2, b2)]
    again = [gemm.exact_bmm_f64(a1, b1), gemm.exact_bmm_int8(a1, b1)]
    for got, want, repeat in zip(first, kept, again, strict=True):
        assert torch.equal(got, want) and torch.equal(repeat, want)
    assert not torch.equal(others[0], others[1])  # the two paths' roundings differ: both ran


def _edge_rows(rng: np.random.Generator, rows: int, n: int) -> torch.Tensor:
    x = torch.from_numpy((rng.standard_normal((rows, n)) * 4.0).astype(np.float32))
    specials = [0.0, -0.0, 1e-41, -1e-41, 88.7, -104.0, 1e30, -1e30, float("inf"), float("-inf")]
    for i, v in enumerate(specials):
        x[i % rows, (3 * i) % n] = v
    x[min(2, rows - 1)] = float("-inf")  # a fully masked row
    x[min(3, rows - 1)] = 7.0  # a constant row (zero variance)
    x[min(4, rows - 1), 0] = float("nan")
    return x


def _grads(
    fn: Callable[..., torch.Tensor], inputs: list[torch.Tensor], seed: int
) -> list[torch.Tensor]:
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    upstream = torch.from_numpy(
        np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(np.float32)
    )
    return [out.detach(), *torch.autograd.grad(out, leaves, upstream)]


@needs_kernels
@pytest.mark.parametrize("n", [1, 5, 128, 130, 1000])
@pytest.mark.parametrize(
    "op",
    [
        "gelu",
        "silu",
        "softmax",
        "cross_entropy",
        "layer_norm",
        "layer_norm_no_bias",
        "rms_norm",
        "sqrt",
    ],
)
def test_row_kernels_match_their_torch_definitions(
    n: int, op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GELU, SiLU, softmax (alone and in cross-entropy), layer norm and RMSNorm, forward and backward, fused vs torch ops, on masked rows,
    constant rows, NaN, infinities, subnormals and values at exp's clamps."""
    rng = np.random.default_rng(n)
    x = _edge_rows(rng, 9, n)
    w = torch.from_numpy(rng.standard_normal(n).astype(np.float32))
    b = torch.from_numpy(rng.standard_normal(n).astype(np.float32))
    targets = torch.from_numpy(rng.integers(0, n, size=x.shape[0]))
    ops = ReproOps()
    calls: dict[str, tuple[Callable[..., torch.Tensor], list[torch.Tensor]]] = {
        "gelu": (ops.gelu, [x]),
        "silu": (ops.silu, [x]),
        "cross_entropy": (lambda t: ops.cross_entropy(t, targets), [x]),
        "softmax": (lambda t: ops.softmax(t, -1), [x]),
        "layer_norm": (lambda t, w_, b_: ops.layer_norm(t, w_, b_, 1e-5), [x, w, b]),
        "layer_norm_no_bias": (lambda t, w_: ops.layer_norm(t, w_, None, 1e-5), [x, w]),
        "rms_norm": (lambda t, w_: ops.rms_norm(t, w_, 1e-6), [x, w]),
        # |x| spread over many binades (and -0.0, +inf; negatives only in the specials)
        "sqrt": (ops.sqrt, [x.abs() * torch.exp2(x.abs() * 3) * 1e-20]),
    }
    fn, inputs = calls[op]
    fused = _grads(fn, inputs, n)
    monkeypatch.setattr(native_kernels, "kernels", lambda: None)
    reference = _grads(fn, inputs, n)
    for got, want in zip(fused, reference, strict=True):
        assert torch.equal(got.nan_to_num(1.5, 2.5, 3.5), want.nan_to_num(1.5, 2.5, 3.5))


@needs_kernels
@pytest.mark.parametrize(
    ("shape", "dim"),
    [
        ((1,), 0),
        ((5,), 0),
        ((1000,), 0),
        ((7, 130), 0),
        ((7, 130), 1),
        ((3, 5, 200), 1),
        ((9, 1, 4), 1),
    ],
)
def test_tree_sum_matches_its_torch_definition(
    shape: tuple[int, ...], dim: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from node.runtime.repro.reduce import tree_sum

    rng = np.random.default_rng(len(shape) + shape[-1])
    x = torch.from_numpy((rng.standard_normal(shape) * 1e3).astype(np.float32))
    x.view(-1)[:: max(x.numel() // 5, 1)] = -0.0
    if x.numel() > 8:
        x.view(-1)[3] = float("inf")
    fused = tree_sum(x, dim, keepdim=True)
    monkeypatch.setattr(native_kernels, "kernels", lambda: None)
    reference = tree_sum(x, dim, keepdim=True)
    assert torch.equal(fused.nan_to_num(1.5, 2.5, 3.5), reference.nan_to_num(1.5, 2.5, 3.5))
    assert not bool(torch.signbit(reference[reference == 0]).any())


@needs_kernels
@pytest.mark.parametrize("n", [1 << 16, 70001, 300007])
def test_long_vector_tree_sum_matches_its_torch_definition(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long vectors are summed by parallel column trees: the same adds, so the same bits (no
    infinities here, so every rounding of the order shows), and an all -0.0 vector sums to +0.0."""
    from node.runtime.repro.reduce import tree_sum, tree_sum_all

    rng = np.random.default_rng(n)
    values = rng.standard_normal(n) * np.exp2(rng.integers(-20, 20, size=n))
    x = torch.from_numpy(values.astype(np.float32)).reshape(1, n, 1)
    zeros = torch.full((n,), -0.0)
    fused = [tree_sum(x, 1, keepdim=True), tree_sum_all(x), tree_sum_all(zeros)]
    monkeypatch.setattr(native_kernels, "kernels", lambda: None)
    reference = [tree_sum(x, 1, keepdim=True), tree_sum_all(x), tree_sum_all(zeros)]
    for got, want in zip(fused, reference, strict=True):
        assert got.shape == want.shape
        assert torch.equal(got, want)
    assert not bool(torch.signbit(fused[2]))
    assert float(fused[1]) != float(x.double().sum())  # rounding shows: the order is tested


@needs_kernels
def test_dropout_matches_its_torch_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    x = _edge_rows(rng, 9, 77)
    keep = torch.from_numpy(rng.random((9, 77)) < 0.8)
    ops = ReproOps()
    fused = _grads(lambda t: ops.dropout(t, 0.2, keep), [x], 4)
    monkeypatch.setattr(native_kernels, "kernels", lambda: None)
    reference = _grads(lambda t: ops.dropout(t, 0.2, keep), [x], 4)
    for got, want in zip(fused, reference, strict=True):
        assert torch.equal(got.nan_to_num(1.5, 2.5, 3.5), want.nan_to_num(1.5, 2.5, 3.5))
