"""``bench repro``'s models: the llama benchmark has the issue's realistic CPU shape; timings report
tokens/s for token models only."""

from __future__ import annotations

from bench.repro import bench_spec, model_timing, tokens_per_step
from node.training.spec import LlamaSpec, parse_spec


def test_llama_bench_spec_is_the_realistic_cpu_shape() -> None:
    spec = parse_spec({**bench_spec("llama"), "runtime": "repro-v1"})
    model = spec.model
    assert isinstance(model, LlamaSpec)
    shape = (model.num_hidden_layers, model.hidden_size, model.num_attention_heads)
    assert shape == (6, 384, 6) and model.num_key_value_heads == 2
    assert (model.block_size, model.vocab_size, model.head_dim) == (256, 8192, 64)
    assert tokens_per_step("llama") == spec.batch_size * 256
    assert tokens_per_step("gpt") == 16 * 128 and tokens_per_step("mlp") is None


def test_model_timing_reports_both_runtimes() -> None:
    timing = model_timing("mlp", repeats=1, steps_per_repeat=1)
    assert set(timing) == {"ratio", "native_ms", "repro_ms"}
    assert float(timing["native_ms"]) > 0 and float(timing["repro_ms"]) > 0  # type: ignore[arg-type]
