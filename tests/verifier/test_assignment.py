"""The segment assignment mirror and the ``bench verify`` numbers."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from node.cli.main import app
from verifier.assignment import assigned_segments, segments_per_attester


def test_segments_distinct_and_in_range() -> None:
    rng = random.Random(3)
    for n in (1, 2, 3, 7, 50, 500):
        for rate in (100, 1000, 5000, 10000):
            per = segments_per_attester(n, rate, 3)
            for _ in range(20):
                got = assigned_segments(rng.randbytes(32), n, rate, 3)
                flat = [s for segs in got for s in segs]
                assert all(1 <= s <= n for s in flat)
                assert all(len(segs) == per for segs in got)
                if 3 * per <= n:  # a permutation: distinct across attesters
                    assert len(set(flat)) == len(flat)


def test_assignment_is_deterministic_and_seed_dependent() -> None:
    seed = b"\x01" * 32
    assert assigned_segments(seed, 500, 1000, 3) == assigned_segments(seed, 500, 1000, 3)
    assert assigned_segments(seed, 500, 1000, 3) != assigned_segments(b"\x02" * 32, 500, 1000, 3)


def test_bench_verify_json() -> None:
    out = CliRunner().invoke(app, ["bench", "verify", "--json", "--trials", "20", "--seed", "1"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["detection_at_f10_exact"] >= 0.99
    assert result["max_cheat_profit"] < 0
    assert result["verifier_cost_fraction"] == 0.102  # §6 literally: 3 x ceil(50 / 3) = 51 of 500
    assert result["proposal"]["verifier_cost_fraction"] <= 0.10
    assert result["proposal"]["detection_at_f10"] >= 0.99


def test_permutation_is_a_bijection() -> None:
    from verifier.assignment import derive, permute

    key = derive(b"\x07" * 32, "segments")
    for n in (1, 2, 3, 5, 16, 17, 100):
        assert sorted(permute(key, x, n) for x in range(n)) == list(range(n))
