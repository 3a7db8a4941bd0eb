"""A counter-based integer RNG that gives the same bits on every CPU, GPU and thread count.

``torch.randn``/``torch.rand`` differ by CPU capability and device, so nothing in a training run may
use them (docs/RUNTIME.md). Instead every random draw is a pure function of ``(key, domain, index)``:

* the *domain* (e.g. ``("dropout", step, "h.0.attn")``) is hashed with SHA-256 in Python into two
  32-bit subkeys, so distinct uses never share a stream and no counter state has to be carried;
* each element's index is mixed with the subkeys by three rounds of the ``lowbias32`` integer hash
  on int64 tensors. Every product of a 32-bit word and a constant in (-2^31, 2^31) stays below 2^63
  in magnitude, so int64 arithmetic never overflows and the result is exact on any backend;
* floats are made with exact ops only: a 24-bit integer times 2^-24 is exactly representable in
  float32, so ``uniform`` needs no rounding, library ``exp``/``log`` or Box-Muller.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

M32 = 0xFFFFFFFF
_C1 = 0x7FEB352D
_C2 = 0x846CA68B
_INDEX_BITS = 31  # permutations pack (random << 31) | index into an int64 below 2^62


@dataclass(frozen=True)
class RngKey:
    """The job's RNG key: two 32-bit words derived from the spec's seed."""

    k0: int
    k1: int

    @classmethod
    def from_seed(cls, seed: int) -> RngKey:
        if not 0 <= seed < 1 << 64:
            raise ValueError(f"seed {seed} must be in [0, 2^64)")
        digest = hashlib.sha256(b"crowdtrain/rng-key/v1" + seed.to_bytes(8, "little")).digest()
        k0, k1 = struct.unpack("<II", digest[:8])
        return cls(k0, k1)

    def to_tensor(self) -> Tensor:
        return torch.tensor([self.k0, self.k1], dtype=torch.int64)

    @classmethod
    def from_tensor(cls, tensor: Tensor) -> RngKey:
        k0, k1 = (int(v) for v in tensor.tolist())
        if not (0 <= k0 <= M32 and 0 <= k1 <= M32):
            raise ValueError("RNG key words must be 32-bit")
        return cls(k0, k1)


def _encode_domain(domain: tuple[str | int, ...]) -> bytes:
    parts = []
    for item in domain:
        if isinstance(item, str):
            raw = item.encode()
            parts.append(b"s" + struct.pack("<I", len(raw)) + raw)
        else:
            parts.append(b"i" + item.to_bytes(16, "little", signed=True))
    return b"".join(parts)


def subkeys(key: RngKey, domain: tuple[str | int, ...]) -> tuple[int, int]:
    """Two 32-bit subkeys for one named use of the RNG."""
    digest = hashlib.sha256(
        b"crowdtrain/rng/v1" + struct.pack("<II", key.k0, key.k1) + _encode_domain(domain)
    ).digest()
    k0, k1 = struct.unpack("<II", digest[:8])
    return k0, k1


def mul32(x: Tensor, c: int) -> Tensor:
    """``(x * c) mod 2^32`` for 32-bit ``x`` and ``c`` with no int64 overflow (see ``_signed``)."""
    return torch.mul(x, _signed(c)).bitwise_and_(M32)


def _signed(c: int) -> int:
    """``c`` or ``c - 2^32``, whichever is below 2^31 in magnitude: the same residue mod 2^32, and
    its product with a 32-bit word stays below 2^63; ``& M32`` of a negative int64 (two's
    complement) keeps the residue."""
    return c if c < 1 << 31 else c - (1 << 32)


def mix32(x: Tensor) -> Tensor:
    """``lowbias32`` (a bijection on 32-bit words with good avalanche)."""
    out = x.clone()
    _mix32_(out, torch.empty_like(out))
    return out


def _mix32_(x: Tensor, tmp: Tensor) -> None:
    """``mix32`` in place (``tmp``: scratch of ``x``'s shape)."""
    x.bitwise_xor_(torch.bitwise_right_shift(x, 16, out=tmp))
    x.mul_(_signed(_C1)).bitwise_and_(M32)
    x.bitwise_xor_(torch.bitwise_right_shift(x, 15, out=tmp))
    x.mul_(_signed(_C2)).bitwise_and_(M32)
    x.bitwise_xor_(torch.bitwise_right_shift(x, 16, out=tmp))


def mix32_int(x: int) -> int:
    """Reference ``mix32`` on Python ints (unbounded), used to test the tensor version."""
    x ^= x >> 16
    x = (x * _C1) & M32
    x ^= x >> 15
    x = (x * _C2) & M32
    return x ^ (x >> 16)


# Elements per chunk of ``_word_chunks``: 512 KiB of int64 stays in a core's L2 cache across the ~30
# in-place passes, where whole multi-megabyte tensors would stream from memory (and page-fault
# fresh allocations) on every pass.
_CHUNK = 1 << 16


def hash_words(k0: int, k1: int, index: Tensor) -> Tensor:
    """The keyed hash of 32-bit counters ``index`` (int64) under subkeys ``(k0, k1)``: the
    definition ``_word_chunks`` applies to ``arange`` chunks."""
    x = torch.bitwise_xor(index, k0)
    _hash_chunk_(x, k0, k1, torch.empty_like(x))
    return x


def _hash_chunk_(x: Tensor, k0: int, k1: int, tmp: Tensor) -> None:
    """``hash_words`` of ``index ^ k0`` (given as ``x``), in place (``tmp``: at least as many
    elements as ``x``)."""
    scratch = tmp.reshape(-1)[: x.numel()].view(x.shape)
    _mix32_(x, scratch)
    _mix32_(x.bitwise_xor_(k1), scratch)
    _mix32_(x.add_(k0).bitwise_and_(M32), scratch)


def _word_chunks(
    key: RngKey, domain: tuple[str | int, ...], n: int
) -> Iterator[tuple[slice, Tensor]]:
    """The ``n`` words of ``domain`` as ``(positions, words)`` chunks of at most ``_CHUNK``; each
    chunk's buffer is reused, so callers reduce it before asking for the next."""
    if n >= 1 << 32:
        raise ValueError(f"cannot draw {n} words from one domain (limit 2^32)")
    k0, k1 = subkeys(key, domain)
    buf = torch.empty(min(_CHUNK, n), dtype=torch.int64)
    tmp = torch.empty_like(buf)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        x = torch.arange(start, stop, dtype=torch.int64, out=buf[: stop - start])
        _hash_chunk_(x.bitwise_xor_(k0), k0, k1, tmp)
        yield slice(start, stop), x


def random_u32(key: RngKey, domain: tuple[str | int, ...], n: int) -> Tensor:
    """``n`` uniform 32-bit words (int64 tensor) for ``domain``."""
    out = torch.empty(n, dtype=torch.int64)
    for where, words in _word_chunks(key, domain, n):
        out[where] = words
    return out


def uniform(key: RngKey, domain: tuple[str | int, ...], shape: tuple[int, ...]) -> Tensor:
    """float32 uniform on [0, 1) in steps of 2^-24, made with exact operations only."""
    words = random_u32(key, domain, math.prod(shape)) >> 8
    return (words.to(torch.float32) * (2.0**-24)).reshape(shape)


def keep_mask(
    key: RngKey, domain: tuple[str | int, ...], shape: tuple[int, ...], p: float
) -> Tensor:
    """Dropout keep mask (bool): each entry kept with probability ``1 - p`` (to 2^-24): kept where
    the word's top 24 bits are below ``(1 - p) 2^24``, i.e. the word is below that times 2^8."""
    threshold = round((1.0 - p) * (1 << 24)) << 8
    out = torch.empty(math.prod(shape), dtype=torch.bool)
    for where, words in _word_chunks(key, domain, out.numel()):
        torch.lt(words, threshold, out=out[where])
    return out.reshape(shape)


def randint(key: RngKey, domain: tuple[str | int, ...], n: int, high: int) -> Tensor:
    """``n`` integers in ``[0, high)`` via ``(word * high) >> 32`` (exact: below 2^63 for high < 2^31)."""
    if not 0 < high < 1 << 31:
        raise ValueError(f"randint bound {high} must be in (0, 2^31)")
    return (random_u32(key, domain, n) * high) >> 32


def permutation(key: RngKey, domain: tuple[str | int, ...], n: int) -> Tensor:
    """A uniform permutation of ``range(n)``: sort unique keys ``(random31 << 31) | index``.

    Keys are unique, so any sort algorithm (stable or not, any device) gives the same order.
    """
    if n >= 1 << _INDEX_BITS:
        raise ValueError(f"cannot permute {n} items (limit 2^31)")
    index = torch.arange(n, dtype=torch.int64)
    keys = ((random_u32(key, domain, n) >> 1) << _INDEX_BITS) | index
    return torch.sort(keys).values & ((1 << _INDEX_BITS) - 1)
