"""Python mirror of the attesters' segment assignment (DESIGN §6, ``contracts/DISPUTES.md``).

Attester k (0-based draw order) gets ``c = max(1, ceil(sampleRateBps·N / (10000·V)))`` (≤ N)
segments ``1 + P((k·c + t) mod N)``, t < c, where P is a 4-round Feistel permutation of [0, N) keyed
by ``keccak256(abi.encode(seed, "segments"))``: width h = bits(N-1) rounded up to even (min 2),
half = h/2, round function ``F = uint(keccak256(abi.encode(key, round, R))) & (2^half - 1)``,
``(L, R) = (R, L ^ F)``, cycle-walking until the value is < N. A permutation makes every attester's
segments distinct from every other's whenever V·c ≤ N, so no replay is wasted on a segment another
attester already covers. ``bench verify`` and the verifier node both use this module; it must
agree with ``Attestations.assignedSegments`` bit for bit (tested against the contract on Anvil).
"""

from __future__ import annotations

from eth_abi.abi import encode
from eth_hash.auto import keccak

BPS = 10_000
ROUNDS = 4


def derive(seed: bytes, label: str) -> bytes:
    """``keccak256(abi.encode(seed, label))``."""
    return keccak(encode(["bytes32", "string"], [seed, label]))


def segments_per_attester(num_segments: int, sample_rate_bps: int, attesters: int) -> int:
    """``c = max(1, ceil(sampleRateBps·N / (10000·V)))``, capped at N."""
    per = -(-num_segments * sample_rate_bps // (BPS * attesters))
    return min(max(1, per), num_segments)


def _half_bits(n: int) -> int:
    width = max(2, (n - 1).bit_length())
    return (width + width % 2) // 2


def permute(key: bytes, x: int, n: int) -> int:
    """P(x) for x in [0, n): a keyed Feistel permutation with cycle walking."""
    half = _half_bits(n)
    mask = (1 << half) - 1
    while True:
        left, right = x >> half, x & mask
        for r in range(ROUNDS):
            f = int.from_bytes(
                keccak(encode(["bytes32", "uint256", "uint256"], [key, r, right])), "big"
            )
            left, right = right, left ^ (f & mask)
        x = (left << half) | right
        if x < n:
            return x


def assigned_segments(
    seed: bytes, num_segments: int, sample_rate_bps: int, attesters: int
) -> list[list[int]]:
    """Segments (1-based) of each attester index 0..V-1, in assignment order."""
    per = segments_per_attester(num_segments, sample_rate_bps, attesters)
    key = derive(seed, "segments")
    return [
        [1 + permute(key, (k * per + t) % num_segments, num_segments) for t in range(per)]
        for k in range(attesters)
    ]
