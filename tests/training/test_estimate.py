"""The job estimate (docs/MARKET.md, Estimates) against measurement of the real model and run.

FLOPs: the estimate's matmul + conv FLOPs against ``FlopCounterMode`` over one native forward
and backward step; memory: against the peak of a real run in a fresh process; checkpoint bytes:
against the encoded initial state; parameters: against the built model.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from node.config import REPO_ROOT
from node.trace.state import encode_state
from node.training.estimate import JobEstimate, estimate_job, sampled_segments
from node.training.measure import counted_matmul_flops, session_of
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
