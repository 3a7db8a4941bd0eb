"""RoPE tables: Hugging Face's default RoPE, computed so every machine gets the same float32 bits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from node.runtime.models.rope import MAX_ANGLE, inv_freq, rope_tables


@pytest.mark.parametrize(("head_dim", "theta"), [(64, 10000.0), (128, 500000.0), (8, 1e6)])
def test_inv_freq_within_an_ulp_of_hugging_faces(head_dim: int, theta: float) -> None:
    hf = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    ours = inv_freq(head_dim, theta)
    exact = 1.0 / theta ** (np.arange(0, head_dim, 2) / head_dim)  # float64
    assert ours.dtype == torch.float32 and ours.shape == (head_dim // 2,)
    assert np.array_equal(ours.numpy(), exact.astype(np.float32))  # correctly rounded
    assert torch.allclose(ours, hf, rtol=2.5e-7, atol=0.0)


def test_tables_are_correctly_rounded_cos_sin_of_hugging_faces_angles() -> None:
    """4096 positions x 128 dims: each entry is float32(cos(angle)) with the float32 angle HF uses."""
    cos, sin = rope_tables(4096, 128, 500000.0)
    freq = inv_freq(128, 500000.0).numpy()
    angle = (np.arange(4096, dtype=np.float32)[:, None] * freq[None, :]).astype(np.float64)
    angle = np.concatenate([angle, angle], axis=-1)
    assert cos.shape == sin.shape == (4096, 128) and cos.dtype == torch.float32
    assert np.abs(cos.numpy() - np.cos(angle)).max() <= 2.0**-24
    assert np.abs(sin.numpy() - np.sin(angle)).max() <= 2.0**-24
    # libm's float64 cos/sin, rounded to float32, agree on (nearly) every entry.
    assert np.mean(cos.numpy() == np.cos(angle).astype(np.float32)) > 0.9999
    assert np.mean(sin.numpy() == np.sin(angle).astype(np.float32)) > 0.9999


def test_tables_are_copies_and_angles_are_bounded() -> None:
    cos, _ = rope_tables(8, 4, 10000.0)
    cos.zero_()
    assert rope_tables(8, 4, 10000.0)[0][0, 0] == 1.0
    with pytest.raises(ValueError, match="RoPE angle beyond"):
        rope_tables(int(MAX_ANGLE) + 2, 2, 10000.0)
