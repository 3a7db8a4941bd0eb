"""``bench market``'s estimate figures: the estimate against EST's measurement of a real step."""

from __future__ import annotations

import pytest

from bench.market_estimate import bigger_llama, estimate_errors
from bench.repro_run import SPEC_DIR
from node.training.estimate import estimate_job
from node.training.spec import load_spec

pytestmark = pytest.mark.slow


def test_estimate_errors_compare_the_estimate_with_a_measured_run() -> None:
    report = estimate_errors(names=["llama_text"])
    row = report["estimate"]["specs"]["llama_text"]
    assert set(report["estimate"]["specs"]) == {"llama_text"}
    assert row["matmul_flops_counted"] > 0 and row["peak_bytes_measured"] > 0
    expected = (
        abs(row["peak_bytes_estimated"] - row["peak_bytes_measured"]) / row["peak_bytes_measured"]
    )
    assert report["estimate_memory_error"] == round(expected, 4)
    assert report["estimate_flops_error"] <= 0.10


def test_the_bigger_llama_is_big_enough_to_outweigh_the_runtime() -> None:
    assert (
        estimate_job(bigger_llama()).params
        > 40 * estimate_job(load_spec(SPEC_DIR / "llama_text.json")).params
    )
