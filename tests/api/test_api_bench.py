"""``crowdtrain bench api`` end to end on a small job count (the real run uses 10,000)."""

from __future__ import annotations

import pytest

from bench.api import run_api_bench

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_bench_api_reports_both_rates() -> None:
    result = run_api_bench(jobs=60, duration=1.0, connections=4)
    assert result["jobs"] == 60 and result["indexed_events"] == 60
    assert result["req_per_s"] > 0 and result["non_200"] == 0
    assert result["index_events_per_s"] > 0
