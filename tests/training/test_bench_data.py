"""``crowdtrain bench data`` on a small corpus (the real run uses 8 MB and 10x)."""

from __future__ import annotations

from typing import Any

from bench.data import run_data_bench


def test_bench_data_reports_throughput_and_loader_memory() -> None:
    result = run_data_bench(
        base_mb=0.5, factor=3, batches=5, block=64, repeats=2, shard_tokens=1 << 18
    )
    base: dict[str, Any] = result["base"]  # type: ignore[assignment]
    big: dict[str, Any] = result["x3"]  # type: ignore[assignment]
    assert base["prepare_mb_per_s"] > 0 and big["prepare_mb_per_s"] > 0
    assert 2.9 * base["tokens"] < big["tokens"] < 3.1 * base["tokens"]
    both: dict[str, Any] = result["prepare_base"]  # type: ignore[assignment]
    byte, bpe = both["byte"], both["bpe"]
    assert byte["tokens"] == base["tokens"] and byte["prepare_mb_per_s_median"] > 0
    assert bpe["prepare_mb_per_s_median"] > 0 and bpe["tokens"] < base["tokens"] / 2  # compresses
    assert len(bpe["prepare_mb_per_s_runs"]) == 2
    # one window checks the one shard under it (of several), not the dataset
    assert big["shards"] > 1 and 0 < big["loader_one_window_hashed_mb"] < big["loader_hashed_mb"]
    # the loader reads by range: far less than the stream would take, and flat from 1x to 3x
    assert big["loader_traced_peak_mb"] < big["whole_int64_mb"] / 2
    assert big["loader_traced_peak_mb"] <= base["loader_traced_peak_mb"] + 1
    assert big["loader_rss_growth_mb"] < base["loader_rss_growth_mb"] + 4
