"""Python mirror of the attesters' segment assignment (docs/PROTOCOL.md §5, ``docs/DISPUTES.md``).

``S = max(V, min(N, ceil(sampleRateBps·N / 10000)))`` segment positions are sampled in total for
the V drawn attesters and split in draw order: attester k gets ``c_k = S // V + (k < S % V)``
positions starting at ``first_k = k·(S // V) + min(k, S % V)``, i.e. segments
``1 + P((first_k + t) mod N)``, t < c_k, where P is a 4-round Feistel permutation of [0, N) keyed
by ``keccak256(abi.encode(seed, "segments"))``: width h = bits(N-1) rounded up to even (min 2),
half = h/2, round function ``F = uint(keccak256(abi.encode(key, round, R))) & (2^half - 1)``,
``(L, R) = (R, L ^ F)``, cycle-walking until the value is < N. A permutation makes every
attester's segments distinct from every other's whenever S ≤ N, so no replay is wasted on a segment
another attester already covers; one total split over V (rather than ``ceil(S/V)`` each) keeps the
replayed work at exactly ``ceil(sampleRate·N)`` segments. ``bench verify`` and the verifier node
both use this module; it must agree with ``Attestations.assignedSegments`` bit for bit (tested
against the contract on Anvil).
"""

from __future__ import annotations

from eth_abi.abi import encode
from eth_hash.auto import keccak

BPS = 10_000
ROUNDS = 4


def derive(seed: bytes, label: str) -> bytes:
    """``keccak256(abi.encode(seed, label))``."""
    return keccak(encode(["bytes32", "string"], [seed, label]))


def sampled_segments(num_segments: int, sample_rate_bps: int, attesters: int) -> int:
    """``S = max(V, min(N, ceil(sampleRateBps·N / 10000)))``: positions sampled over all attesters."""
    total = min(num_segments, -(-num_segments * sample_rate_bps // BPS))
    return max(attesters, total)


def share(sampled: int, attesters: int, index: int) -> tuple[int, int]:
    """``(first, count)`` of attester ``index``'s consecutive run of the ``sampled`` positions."""
    base, extra = divmod(sampled, attesters)
    return index * base + min(index, extra), base + (1 if index < extra else 0)


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


def segments_of(seed: bytes, num_segments: int, first: int, count: int) -> list[int]:
    """``1 + P((first + t) mod N)`` for t < count (``Attestations.segmentsAt``)."""
    key = derive(seed, "segments")
    return [1 + permute(key, (first + t) % num_segments, num_segments) for t in range(count)]


def assigned_segments(
    seed: bytes, num_segments: int, sample_rate_bps: int, attesters: int
) -> list[list[int]]:
    """Segments (1-based) of each attester index 0..V-1, in assignment order."""
    sampled = sampled_segments(num_segments, sample_rate_bps, attesters)
    return [
        segments_of(seed, num_segments, *share(sampled, attesters, k)) for k in range(attesters)
    ]
