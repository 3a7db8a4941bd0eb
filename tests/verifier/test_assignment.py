"""The segment assignment mirror and the ``bench verify`` numbers."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from cli.main import app
from verifier.assignment import assigned_segments, sampled_segments


def test_segments_distinct_and_in_range() -> None:
    rng = random.Random(3)
    for n in (1, 2, 3, 7, 50, 500):
        for rate in (100, 1000, 5000, 10000):
            total = sampled_segments(n, rate, 3)
            assert total == max(3, min(n, -(-n * rate // 10_000)))
            for _ in range(20):
                got = assigned_segments(rng.randbytes(32), n, rate, 3)
                flat = [s for segs in got for s in segs]
                assert all(1 <= s <= n for s in flat)
                assert len(flat) == total  # one total, split as evenly as possible
                assert max(map(len, got)) - min(map(len, got)) <= 1
                assert all(len(segs) >= 1 for segs in got)
                if total <= n:  # a permutation: distinct across attesters
                    assert len(set(flat)) == len(flat)


def test_default_job_samples_ceil_of_a_tenth() -> None:
    """N = 500 at 10%: 50 segments split 17/17/16 (not 3 x ceil(50/3) = 51)."""
    got = assigned_segments(b"\x05" * 32, 500, 1000, 3)
    assert [len(segs) for segs in got] == [17, 17, 16]
    assert len({s for segs in got for s in segs}) == 50


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
    assert result["verifier_cost_fraction"] == 0.1  # 50 of 500 segments replayed
    assert result["segments_sampled"] == 50
    # issue 11: under the blanket-sybil strategy (the sybil's best number of challenges beside the
    # honest one) the honest challenger still profits, and cheating stays unprofitable
    sybils = result["sybil_challenges_best"]
    assert 1 <= sybils < 31
    assert result["honest_challenger_profit_vs_sybil"] > 0
    assert 0 < result["cheater_recovery_vs_sybil"] < result["assumptions"]["jackpot_over_reward"]
    assert result["max_cheat_profit_whole_jackpot"] < 0
    by_k = result["blanket_sybil_vs_k"]
    assert by_k["k=0"]["honest_challenger_profit"] > by_k["k=1"]["honest_challenger_profit"] > 0
    assert all(
        row["cheater_recovery"] <= result["cheater_recovery_vs_sybil"] for row in by_k.values()
    )


def test_permutation_is_a_bijection() -> None:
    from verifier.assignment import derive, permute

    key = derive(b"\x07" * 32, "segments")
    for n in (1, 2, 3, 5, 16, 17, 100):
        assert sorted(permute(key, x, n) for x in range(n)) == list(range(n))
