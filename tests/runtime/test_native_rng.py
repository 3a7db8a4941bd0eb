"""The counter-based RNG: exact 32-bit arithmetic (no int64 overflow), uniformity, permutations."""

from __future__ import annotations

import random

import torch

from node.runtime import rng
from node.runtime.rng import M32, RngKey


def _hash_words_int(k0: int, k1: int, i: int) -> int:
    x = rng.mix32_int(i ^ k0)
    x = rng.mix32_int(x ^ k1)
    return rng.mix32_int((x + k0) & M32)


def test_tensor_hash_equals_unbounded_integer_reference() -> None:
    """Python ints never overflow, so equality proves the int64 tensor path never wraps either."""
    gen = random.Random(5)
    values = [0, 1, M32, M32 - 1, 1 << 31, 0xFFFF0000, *(gen.getrandbits(32) for _ in range(2000))]
    t = torch.tensor(values, dtype=torch.int64)
    assert rng.mix32(t).tolist() == [rng.mix32_int(v) for v in values]
    for k0, k1 in [(M32, M32), (0, 0), (gen.getrandbits(32), gen.getrandbits(32))]:
        assert rng.hash_words(k0, k1, t).tolist() == [_hash_words_int(k0, k1, v) for v in values]


def test_mul32_is_exact_without_int64_overflow() -> None:
    """Constants >= 2^31 are used as ``c - 2^32``: every product of a 32-bit word stays below 2^63."""
    x = torch.tensor([0, 1, 0xFFFF, 1 << 31, M32], dtype=torch.int64)
    for c in (rng._C1, rng._C2, 1, (1 << 31) - 1, 1 << 31, M32):
        signed = c if c < 1 << 31 else c - (1 << 32)
        assert all(abs(v * signed) < 1 << 63 for v in x.tolist())
        assert rng.mul32(x, c).tolist() == [(v * c) & M32 for v in x.tolist()]


def test_uniform_is_exact_and_uniform_ish() -> None:
    key = RngKey.from_seed(123)
    u = rng.uniform(key, ("test",), (100_000,))
    assert u.dtype == torch.float32 and float(u.min()) >= 0.0 and float(u.max()) < 1.0
    assert torch.equal(u * 2**24, torch.floor(u * 2**24))  # multiples of 2^-24
    counts = torch.histc(u, bins=16, min=0.0, max=1.0)
    expected = 100_000 / 16
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 40.0  # 15 dof: p ≈ 0.0005
    assert abs(float(u.mean()) - 0.5) < 0.005


def test_draws_are_pure_functions_of_key_and_domain() -> None:
    key = RngKey.from_seed(1)
    a = rng.random_u32(key, ("x", 3), 64)
    assert torch.equal(a, rng.random_u32(key, ("x", 3), 64))
    assert not torch.equal(a, rng.random_u32(key, ("x", 4), 64))
    assert not torch.equal(a, rng.random_u32(RngKey.from_seed(2), ("x", 3), 64))
    assert torch.equal(a[:10], rng.random_u32(key, ("x", 3), 10))


def test_permutation_randint_and_mask() -> None:
    key = RngKey.from_seed(9)
    perm = rng.permutation(key, ("p",), 1797)
    assert sorted(perm.tolist()) == list(range(1797)) and perm.tolist() != list(range(1797))
    r = rng.randint(key, ("r",), 10_000, 7)
    assert int(r.min()) == 0 and int(r.max()) == 6
    mask = rng.keep_mask(key, ("m",), (100, 100), 0.25)
    assert mask.dtype == torch.bool and abs(float(mask.float().mean()) - 0.75) < 0.02


def test_key_roundtrip() -> None:
    key = RngKey.from_seed(2**64 - 1)
    assert RngKey.from_tensor(key.to_tensor()) == key
