"""The job estimate (docs/MARKET.md, Estimates) against measurement of the real model and run.

FLOPs: the estimate's matmul + conv FLOPs against ``FlopCounterMode`` over one native forward
and backward step; memory: against the peak of a real run in a fresh process; checkpoint bytes:
against the encoded initial state; parameters: against the built model.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from cli.estimate import calibration_dir, submit_lines
from cli.main import app
from node.config import REPO_ROOT
from node.errors import CrowdtrainError
from node.trace.state import encode_state
from node.training.calibrate import (
    Calibration,
    CalibrationError,
    expected_seconds,
    load_calibration,
    save_calibration,
)
from node.training.estimate import JobEstimate, estimate_job, sampled_segments
from node.training.measure import counted_matmul_flops, measure_peak_memory, session_of
from node.training.spec import JobSpec, load_spec, parse_spec

EXAMPLES = sorted((REPO_ROOT / "examples" / "specs").glob("*.json"))
FLOPS_TOLERANCE = 0.10
MEMORY_TOLERANCE = 0.25


def big_llama() -> JobSpec:
    """A llama about 50x the example's FLOPs per step: 4 layers of width 256, GQA, 128-token windows."""
    data: dict[str, Any] = json.loads((REPO_ROOT / "examples/specs/llama_text.json").read_text())
    data["model"].update(
        vocab_size=512,
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=4,
        block_size=128,
        max_position_embeddings=128,
    )
    data["batch_size"] = 8
    return parse_spec(data)


SPECS: dict[str, JobSpec] = {p.stem: load_spec(p) for p in EXAMPLES} | {"big_llama": big_llama()}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_matmul_flops_match_flop_counter(name: str) -> None:
    spec = SPECS[name]
    estimate = estimate_job(spec)
    counted = counted_matmul_flops(spec)
    assert counted > 0
    assert abs(estimate.matmul_flops_per_step - counted) <= FLOPS_TOLERANCE * counted, (
        f"{name}: estimated {estimate.matmul_flops_per_step} matmul FLOPs, counted {counted}"
    )
    # the rest of the step (elementwise, attention's softmax, optimizer) adds a little on top
    assert estimate.matmul_flops_per_step < estimate.flops_per_step < 2 * counted


@pytest.mark.parametrize("name", sorted(SPECS))
def test_parameters_and_checkpoint_bytes_match_the_built_job(name: str) -> None:
    spec = SPECS[name]
    estimate = estimate_job(spec)
    session = session_of(spec, "native")
    assert estimate.params == sum(p.numel() for p in session.model.parameters())
    blob, _ = encode_state(session.initial_state())
    assert estimate.checkpoint_bytes == len(blob)


def test_totals_segments_and_verifier_share() -> None:
    spec = SPECS["mlp_digits"]
    e = estimate_job(spec)
    assert e.segments == 10
    assert e.flops_total == e.flops_per_step * 200
    assert e.pflop == e.flops_total / 1e15
    # sample_rate 0.1 of 10 segments: 1 segment of 20 steps replayed
    assert e.verifier_flops == 20 * e.flops_per_step
    rounds = estimate_job(SPECS["mlp_digits_rounds"])
    # 3 workers x 2 rounds x 100 steps; per unit 5 segments, ceil(0.5) = 1 replayed
    assert rounds.flops_total == rounds.flops_per_step * 100 * 3 * 2
    assert rounds.segments == 5
    assert rounds.verifier_flops == 20 * rounds.flops_per_step * 6
    assert sampled_segments(10, 0.25) == 3
    assert sampled_segments(3, 1.0) == 3


def test_estimate_is_deterministic_and_a_function_of_the_spec() -> None:
    spec = SPECS["gpt_text"]
    again = load_spec(spec.canonical_json())
    assert estimate_job(spec) == estimate_job(again)
    assert estimate_job(spec).as_dict() == estimate_job(again).as_dict()
    bigger = estimate_job(spec.with_overrides(batch_size=32))
    assert bigger.flops_per_step > estimate_job(spec).flops_per_step
    for runtime in ("native", "repro-v1"):
        assert bigger.peak_memory_bytes[runtime] > estimate_job(spec).peak_memory_bytes[runtime]


def test_a_big_model_is_estimated_without_being_built() -> None:
    """A 7B-class llama: estimated in milliseconds, nothing allocated (checkpoint ~ 3 x 4 x 7e9 B)."""
    data: dict[str, Any] = json.loads((REPO_ROOT / "examples/specs/llama_text.json").read_text())
    data["model"].update(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        block_size=2048,
        max_position_embeddings=2048,
    )
    e: JobEstimate = estimate_job(parse_spec(data))
    assert 6.5e9 < e.params < 7.0e9
    assert e.checkpoint_bytes > 3 * 4 * e.params
    assert e.peak_memory_bytes["native"] > e.checkpoint_bytes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "runtime"),
    [(name, "repro-v1") for name in sorted(SPECS)]
    + [("big_llama", "native"), ("gpt_text", "native"), ("llama_text", "native")],
)
def test_peak_memory_matches_a_real_run(name: str, runtime: str) -> None:
    """Within 25% of the live peak of two real steps and a checkpoint encode (fresh process)."""
    spec = SPECS[name]
    estimated = estimate_job(spec).peak_memory_bytes[runtime]
    measured = measure_peak_memory(spec, runtime)
    assert measured > 0
    assert abs(estimated - measured) <= MEMORY_TOLERANCE * measured, (
        f"{name} on {runtime}: estimated {estimated} B, measured {measured} B"
    )


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["big_llama", "gpt_text"])
def test_peak_memory_matches_cuda_max_memory_allocated(name: str) -> None:
    spec = SPECS[name]
    estimated = estimate_job(spec).peak_memory_bytes[spec.runtime]
    measured = measure_peak_memory(spec, spec.runtime, device="cuda")
    assert abs(estimated - measured) <= MEMORY_TOLERANCE * measured, (
        f"{name} on cuda: estimated {estimated} B, measured {measured} B"
    )


def test_submit_shows_the_estimate_and_price_per_pflop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROWDTRAIN_DATA_DIR", str(tmp_path))
    spec = SPECS["gpt_text"]
    e = estimate_job(spec)
    lines = submit_lines(spec, 3 * 10**18)
    text = "\n".join(lines)
    assert f"{e.params:,}" in text
    assert f"{3 / e.pflop:.6g} CROWD" in text
    auction = "\n".join(submit_lines(spec, 3 * 10**18, floor_wei=10**18))
    assert f"{1 / e.pflop:.6g} CROWD at the floor, rising to {3 / e.pflop:.6g} CROWD" in auction
    assert "expected time" not in text  # nothing cached: submit never measures
    save_calibration(calibration_dir(), Calibration("cpu", {"native": 1e9, "repro-v1": 1e8}))
    timed = "\n".join(submit_lines(spec, 3 * 10**18))
    assert "expected time" in timed and "repro-v1 at 100 MFLOP/s" in timed


def _seed_calibration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWDTRAIN_DATA_DIR", str(tmp_path))
    save_calibration(calibration_dir(), Calibration("cpu", {"native": 2e9, "repro-v1": 1e8}))


def test_job_estimate_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_calibration(tmp_path, monkeypatch)
    path = EXAMPLES[0]
    out = CliRunner().invoke(app, ["job", "estimate", str(path), "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    expected = estimate_job(load_spec(path))
    assert got == {
        **expected.as_dict(),
        "expected_seconds": expected.flops_total / 1e8,  # repro-v1 at the cached 1e8 FLOP/s
        "device": "cpu",
    }
    assert set(got) >= {f.name for f in dataclasses.fields(JobEstimate)}


def test_job_estimate_prints_each_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_calibration(tmp_path, monkeypatch)
    out = CliRunner().invoke(
        app, ["job", "estimate", str(REPO_ROOT / "examples/specs/mlp_digits_rounds.json")]
    )
    assert out.exit_code == 0, out.output
    for label in (
        "parameters",
        "FLOPs per step",
        "FLOPs in total",
        "peak memory",
        "checkpoint",
        "segments",
        "verifier replay",
        "expected time",
    ):
        assert label in out.stdout
    assert "4,810" in out.stdout and "5 per unit" in out.stdout


def test_job_estimate_refuses_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_calibration(tmp_path, monkeypatch)
    bad = tmp_path / "bad.json"
    data = json.loads(EXAMPLES[0].read_text())
    data["batch_size"] = 0
    bad.write_text(json.dumps(data))
    out = CliRunner().invoke(app, ["job", "estimate", str(bad)])
    assert out.exit_code == 1 and isinstance(out.exception, CrowdtrainError)
    assert str(out.exception) == (
        "invalid job spec: batch_size: Input should be greater than or equal to 1"
    )
    out = CliRunner().invoke(app, ["job", "estimate", str(EXAMPLES[0]), "--device", "tpu"])
    assert out.exit_code == 1 and "--device must be cpu or cuda" in str(out.exception)


def test_calibration_cache_is_checked(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="no calibration of cpu cached"):
        load_calibration(tmp_path, "cpu", measure=False)
    path = save_calibration(tmp_path, Calibration("cpu", {"native": 2e9, "repro-v1": 1e8}))
    assert load_calibration(tmp_path, "cpu", measure=False).flops_per_second["repro-v1"] == 1e8
    record = json.loads(path.read_text())
    for broken in (
        "{not json",
        json.dumps({**record, "flops_per_second": {"native": 2e9, "repro-v1": -1}}),
        json.dumps({**record, "threads": record["threads"] + 1}),  # made under another setting
        json.dumps({**record, "flops_per_second": {"native": 2e9}}),
    ):
        path.write_text(broken)
        with pytest.raises(CalibrationError):
            load_calibration(tmp_path, "cpu", measure=False)
    with pytest.raises(CalibrationError, match="unknown device"):
        load_calibration(tmp_path, "tpu")
    e = estimate_job(SPECS["mlp_digits"])
    timed = Calibration("cpu", {"native": 1e9, "repro-v1": 1e8}, {"native": 0.5, "repro-v1": 0.25})
    # 200 steps of fixed cost, then the FLOPs at the throughput
    assert expected_seconds(e, timed, "repro-v1") == 200 * 0.25 + e.flops_total / 1e8
    assert expected_seconds(e, timed, "native") == 200 * 0.5 + e.flops_total / 1e9
    with pytest.raises(CalibrationError, match="no throughput of runtime"):
        expected_seconds(e, Calibration("cpu", {"native": 1.0}), "repro-v1")


@pytest.mark.slow
def test_calibration_measures_once_and_caches(tmp_path: Path) -> None:
    started = time.perf_counter()
    first = load_calibration(tmp_path, "cpu")
    took = time.perf_counter() - started
    assert first.device == "cpu"
    # which runtime is faster is not asserted: on a busy shared machine the order can flip
    assert set(first.flops_per_second) == {"native", "repro-v1"}
    assert all(r > 0 for r in first.flops_per_second.values())
    assert all(s >= 0 for s in first.step_overhead_seconds.values())
    assert took < 120  # 11-22 s measured on a busy 2-core machine
    started = time.perf_counter()
    assert load_calibration(tmp_path, "cpu", measure=False) == first
    assert time.perf_counter() - started < 0.5


def test_micro_batches_cut_memory_not_flops() -> None:
    spec = SPECS["big_llama"]
    whole, micro = estimate_job(spec), estimate_job(spec.with_overrides(micro_batch_size=2))
    assert micro.flops_total == whole.flops_total
    for runtime in ("native", "repro-v1"):
        assert micro.peak_memory_bytes[runtime] < whole.peak_memory_bytes[runtime]
    sgd = estimate_job(spec.with_overrides(optimizer={"name": "sgd", "lr": 0.1}))
    # SGD keeps one slot per parameter, AdamW two: 4 bytes per parameter less in the checkpoint
    assert whole.checkpoint_bytes - sgd.checkpoint_bytes >= 4 * whole.params


def _variant(example: str, batch: int, **model: Any) -> JobSpec:
    data: dict[str, Any] = json.loads((REPO_ROOT / f"examples/specs/{example}.json").read_text())
    data["model"].update(model)
    data["batch_size"] = batch
    return parse_spec(data)


VARIANTS: dict[str, JobSpec] = {
    "mlp no hidden": _variant("mlp_digits", 8, hidden=[]),
    "mlp deep gelu": _variant("mlp_digits", 8, hidden=[32, 16, 8], activation="gelu"),
    "cnn rgb k5": _variant(
        "cnn_digits", 4, in_channels=3, image_size=16, channels=[4, 8, 8], kernel_size=5
    ),
    "cnn k1": _variant("cnn_digits", 4, channels=[6], kernel_size=1, hidden=8),
    "gpt no bias": _variant("gpt_text", 2, bias=False, dropout=0.2, n_head=1, n_layer=1),
    "llama tied MHA": _variant(
        "llama_text", 2, tie_word_embeddings=True, num_key_value_heads=4, block_size=16
    ),
    "llama MQA": _variant(
        "llama_text", 2, num_attention_heads=8, num_key_value_heads=1, intermediate_size=100
    ),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_architecture_variant_is_walked_right(name: str) -> None:
    """Bias off, tied heads, grouped and multi-query attention, no hidden layer, 1x1 and 5x5
    kernels: parameters, checkpoint bytes and matmul FLOPs all equal to the real model's."""
    spec = VARIANTS[name]
    estimate = estimate_job(spec)
    session = session_of(spec, "native")
    assert estimate.params == sum(p.numel() for p in session.model.parameters())
    assert estimate.checkpoint_bytes == len(encode_state(session.initial_state())[0])
    assert estimate.matmul_flops_per_step == counted_matmul_flops(spec)
