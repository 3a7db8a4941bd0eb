"""``exact_mm_int8`` (the int8-limb GEMM kept for int8-fast devices): accurate and order-independent."""

from __future__ import annotations

import numpy as np
import torch

from node.runtime.repro.gemm import exact_mm_int8


def test_int8_limb_gemm_is_close_to_float64_and_blocking_independent() -> None:
    rng = np.random.default_rng(5)
    a = torch.from_numpy(rng.standard_normal((67, 1500)).astype(np.float32))
    b = torch.from_numpy(rng.standard_normal((1500, 41)).astype(np.float32))
    got = exact_mm_int8(a, b)
    want = a.double() @ b.double()
    scale = a.double().norm(dim=1, keepdim=True) * b.double().norm(dim=0, keepdim=True)
    assert float(((got.double() - want).abs() / scale).max()) < 2e-6
    # Rows computed alone (other blocking, other thread split) give the same bits.
    assert torch.equal(
        torch.cat([exact_mm_int8(a[i : i + 1], b) for i in range(0, 67, 7)]), got[::7]
    )
