"""n-ary bisection over the K steps of a disputed segment (docs/PROTOCOL.md §6), as pure functions.

The range ``(lo, hi)`` holds the last step both parties agree on and the first step they disagree
on (initially ``(0, K)``: step leaves 0 and K carry the checkpoint hashes; the challenger disputes
segment i, so it disagrees at K). Each round the solver opens the step leaves at up to
``degree - 1`` split points strictly inside the range; the challenger names the first sub-range
whose right end it disagrees with. It ends when ``hi = lo + 1``: both agree on ``stateHash(lo)``
and disagree on ``stateHash(hi)``. With ``degree ≥ K`` one round suffices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def split_points(lo: int, hi: int, degree: int) -> list[int]:
    """Steps strictly inside ``(lo, hi)`` cutting it into ``min(degree, hi - lo)`` near-equal parts."""
    if hi - lo < 2:
        return []
    parts = min(degree, hi - lo)
    return [lo + (hi - lo) * p // parts for p in range(1, parts)]


def pick_subrange(
    lo: int,
    hi: int,
    degree: int,
    opened: Mapping[int, bytes],
    honest: Sequence[bytes],
) -> tuple[int, int]:
    """The first sub-range ``(a, b)`` whose end ``b`` the challenger disagrees with.

    ``honest[j]`` is the challenger's replayed stateHash of step j of the segment; ``opened`` the
    solver's claims at the split points. The end ``hi`` is disagreed by invariant, so a sub-range
    always exists.
    """
    points = [*split_points(lo, hi, degree), hi]
    start = lo
    for point in points:
        if point == hi or opened[point] != honest[point]:
            return start, point
        start = point
    raise AssertionError("unreachable: hi is always disagreed")


def index_of_subrange(lo: int, hi: int, degree: int, sub: tuple[int, int]) -> int:
    """Position of ``sub`` among the sub-ranges of ``(lo, hi)`` (what the contract takes)."""
    ends = [*split_points(lo, hi, degree), hi]
    return ends.index(sub[1])


def rounds_needed(k: int, degree: int) -> int:
    """Rounds until the range has width 1, for chess-clock budgeting and gas estimates."""
    lo, hi, rounds = 0, k, 0
    while hi - lo > 1:
        points = [*split_points(lo, hi, degree), hi]
        widest = max(b - a for a, b in zip([lo, *points[:-1]], points, strict=True))
        lo, hi, rounds = 0, widest, rounds + 1
    return rounds
