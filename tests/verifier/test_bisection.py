"""Bisection helpers: any disagreement point is found, with log_degree(K) rounds."""

from __future__ import annotations

import pytest

from verifier.bisection import index_of_subrange, pick_subrange, rounds_needed, split_points


@pytest.mark.parametrize(("k", "degree"), [(2, 16), (4, 2), (64, 16), (64, 4), (17, 3), (5, 64)])
def test_bisection_converges_on_first_divergence(k: int, degree: int) -> None:
    honest = [bytes([j]) * 32 for j in range(k + 1)]
    for first_bad in range(1, k + 1):
        solver = [h if j < first_bad else b"\xff" * 32 for j, h in enumerate(honest)]
        lo, hi, rounds = 0, k, 0
        while hi - lo > 1:
            opened = {p: solver[p] for p in split_points(lo, hi, degree)}
            sub = pick_subrange(lo, hi, degree, opened, honest)
            assert 0 <= index_of_subrange(lo, hi, degree, sub) < degree
            lo, hi, rounds = sub[0], sub[1], rounds + 1
        assert (lo, hi) == (first_bad - 1, first_bad)
        assert rounds <= rounds_needed(k, degree)


def test_split_points() -> None:
    assert split_points(0, 64, 16) == list(range(4, 64, 4))
    assert split_points(0, 4, 16) == [1, 2, 3]
    assert split_points(3, 4, 16) == []
    assert rounds_needed(64, 16) == 2
    assert rounds_needed(16, 16) == 1
