"""``exact_mm``/``exact_bmm`` (int8 limbs on ``torch._int_mm``): accurate and order-independent."""

from __future__ import annotations

import numpy as np
import torch

from node.runtime.repro.gemm import exact_bmm, exact_mm


def _rand(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


def test_int8_limb_gemm_is_close_to_float64_and_blocking_independent() -> None:
    rng = np.random.default_rng(5)
    a, b = _rand(rng, 67, 1500), _rand(rng, 1500, 41)
    got = exact_mm(a, b)
    want = a.double() @ b.double()
    scale = a.double().norm(dim=1, keepdim=True) * b.double().norm(dim=0, keepdim=True)
    assert float(((got.double() - want).abs() / scale).max()) < 2e-6
    # Rows computed alone (other blocking, other thread split) give the same bits.
    assert torch.equal(torch.cat([exact_mm(a[i : i + 1], b) for i in range(0, 67, 7)]), got[::7])


def test_layout_does_not_change_bits() -> None:
    """Transposed operands (quantized in their own memory order) give the same bits."""
    rng = np.random.default_rng(6)
    a, b = _rand(rng, 33, 70), _rand(rng, 70, 19)
    got = exact_mm(a, b)
    assert torch.equal(exact_mm(a.t().contiguous().t(), b.t().contiguous().t()), got)
    batched = exact_bmm(
        torch.stack([a, 2 * a]), torch.stack([b, b]).transpose(1, 2).contiguous().transpose(1, 2)
    )
    assert torch.equal(batched[0], got)
    assert torch.equal(batched[1], exact_mm(2 * a, b))


def test_non_finite_inputs_poison_their_rows_and_columns() -> None:
    rng = np.random.default_rng(7)
    a, b = _rand(rng, 5, 9), _rand(rng, 9, 4)
    a[2, 3] = float("nan")
    b[1, 2] = float("inf")
    got = exact_mm(a, b)
    assert bool(torch.isnan(got[2]).all()) and bool(torch.isnan(got[:, 2]).all())
    mask = torch.ones_like(got, dtype=torch.bool)
    mask[2] = False
    mask[:, 2] = False
    assert bool(torch.isfinite(got[mask]).all())
