"""The market bench's estimate figures: how far ``estimate_job`` is from measurement.

The simulation trusts the estimate (it is what a submitter is shown and what a daemon judges fit
by), so the bench reports how wrong it is, with EST's own measuring code
(``node.training.measure``) on the example specs and a bigger llama:

* ``estimate_flops_error``: the largest relative error of ``matmul_flops_per_step`` against the
  matmul and convolution FLOPs ``FlopCounterMode`` counts over one native forward and backward
  step (issue 15's tolerance: 10%).
* ``estimate_memory_error``: the largest relative error of ``peak_memory_bytes`` against the
  measured peak of a real run of a few steps in a fresh process (tolerance: 25%), on this
  machine's CPU (peak RSS growth) or, with ``device="cuda"``, its GPU (``max_memory_allocated``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.repro_run import SPEC_DIR
from node.training.estimate import estimate_job
from node.training.measure import counted_matmul_flops, measure_peak_memory
from node.training.spec import JobSpec, load_spec, parse_spec

EXAMPLE_SPECS = ("mlp_digits", "cnn_digits", "gpt_text", "llama_text")


def bigger_llama() -> JobSpec:
    """``llama_text`` grown to 4.6M parameters (46x): big enough that the model, not the runtime's
    fixed costs, dominates the measured memory, small enough to run on a CPU in seconds."""
    data = load_spec(SPEC_DIR / "llama_text.json").model_dump(mode="json")
    data["model"].update(
        vocab_size=512,
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=6,
        num_attention_heads=8,
        num_key_value_heads=4,
        max_position_embeddings=128,
        block_size=128,
    )
    data.update(batch_size=8)
    return parse_spec({k: v for k, v in data.items() if v is not None})


def measured_specs() -> dict[str, JobSpec]:
    specs = {name: load_spec(SPEC_DIR / f"{name}.json") for name in EXAMPLE_SPECS}
    specs["llama_bigger"] = bigger_llama()
    return specs


def _error(estimated: int, measured: int) -> float:
    return abs(estimated - measured) / measured


def estimate_errors(device: str = "cpu", names: Sequence[str] | None = None) -> dict[str, Any]:
    """Both keys (the worst spec's error) and every spec's figures under ``estimate``; ``names``
    picks some of ``measured_specs`` (default: all)."""
    specs = measured_specs()
    rows: dict[str, dict[str, Any]] = {}
    for name in names or specs:
        spec = specs[name]
        estimate = estimate_job(spec)
        counted = counted_matmul_flops(spec)
        peak = measure_peak_memory(spec, spec.runtime, device)
        estimated_peak = estimate.peak_memory_bytes[spec.runtime]
        rows[name] = {
            "matmul_flops_estimated": estimate.matmul_flops_per_step,
            "matmul_flops_counted": counted,
            "flops_error": round(_error(estimate.matmul_flops_per_step, counted), 4),
            "peak_bytes_estimated": estimated_peak,
            "peak_bytes_measured": peak,
            "memory_error": round(_error(estimated_peak, peak), 4),
        }
    return {
        "estimate_flops_error": max(row["flops_error"] for row in rows.values()),
        "estimate_memory_error": max(row["memory_error"] for row in rows.values()),
        "estimate": {"device": device, "runtime": "repro-v1", "specs": rows},
    }
