"""``crowdtrain bench repro``: step time of repro-v1 vs native fp32 eager per model, and reproducibility.

For each model (the mlp and cnn examples as shipped; the gpt at 4 layers, d_model 256, 4 heads,
context 128, batch 16, the corpus' character vocabulary; the llama at a realistic CPU shape: 6
layers, hidden 384, 6 query / 2 KV heads, SwiGLU 1024, context 256, vocabulary 8192, batch 8, no
dropout so the shared dropout RNG does not dilute the ratio) both runtimes train from the same
initial state on the same batches, in this process, with the same thread count and device. The
machine is shared, so each repeat times a few native steps then a few repro steps back to back
(interleaved) and the ratio is of the medians; token models also report tokens/s. ``reproducible``
compares the final stateHash of short repro-v1 runs in two fresh interpreters, one on 1 thread and
one on 2 (``bench.repro_run``).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench.repro_run import SPEC_DIR, Job, run_variant

MODELS = {"mlp": "mlp_digits", "cnn": "cnn_digits", "gpt": "gpt_text", "llama": "llama_text"}
GPT_BENCH = {"n_layer": 4, "n_embd": 256, "n_head": 4, "block_size": 128}
LLAMA_BENCH = {
    "num_hidden_layers": 6,
    "hidden_size": 384,
    "num_attention_heads": 6,
    "num_key_value_heads": 2,
    "intermediate_size": 1024,
    "block_size": 256,
    "max_position_embeddings": 256,
    "vocab_size": 8192,
}
BATCH = {"gpt": 16, "llama": 8}
# Steps per timed repeat: enough to amortize the timer on the small models, few on the large ones.
STEPS_PER_REPEAT = {"mlp": 10, "cnn": 10, "gpt": 2, "llama": 1}


def bench_spec(model: str, batch_size: int | None = None) -> dict[str, Any]:
    """The benchmark spec of ``model`` as a dict (runtime left for the caller to set)."""
    data: dict[str, Any] = json.loads((SPEC_DIR / f"{MODELS[model]}.json").read_text())
    if model == "gpt":
        from node.trace import tensorfile
        from node.training.data import text_blob

        tensors, _ = tensorfile.decode(text_blob(), "corpus")
        data["model"] = {**data["model"], **GPT_BENCH, "vocab_size": len(tensors["vocab"])}
    if model == "llama":
        data["model"] = {**data["model"], **LLAMA_BENCH}
    if model in BATCH:
        data["batch_size"] = BATCH[model]
    if batch_size is not None:
        data["batch_size"] = batch_size
    return data


def tokens_per_step(model: str) -> int | None:
    """Tokens a step of a token model trains on (batch x context); None for classifiers."""
    spec = bench_spec(model)
    block = spec["model"].get("block_size")
    return None if block is None else int(spec["batch_size"]) * int(block)


def step_times(
    model: str, repeats: int, steps_per_repeat: int, device: str = "cpu"
) -> tuple[float, float]:
    """Median seconds per step of (native, repro-v1) on ``device``, interleaved."""
    from node.training.data import decode_dataset, example_blob
    from node.training.session import TrainingSession
    from node.training.spec import parse_spec

    sessions, states = [], []
    for runtime in ("native", "repro-v1"):
        spec = parse_spec({**bench_spec(model), "runtime": runtime})
        blob = example_blob("text" if spec.dataset.format == "tokens" else "digits")
        session = TrainingSession(spec, decode_dataset(spec, blob), device=device)
        sessions.append(session)
        states.append(session.step(session.initial_state()))  # warm-up
    times: list[list[float]] = [[], []]
    for _ in range(repeats):
        for i, session in enumerate(sessions):
            started = time.perf_counter()
            for _ in range(steps_per_repeat):
                states[i] = session.step(states[i])  # returns CPU tensors: the device is synced
            times[i].append((time.perf_counter() - started) / steps_per_repeat)
    return statistics.median(times[0]), statistics.median(times[1])


def _reproducible(model: str, steps: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="crowdtrain-bench-") as tmp:
        path = Path(tmp) / f"{model}_bench.json"
        path.write_text(json.dumps(bench_spec(model)))
        job = Job(str(path), "repro-v1", steps, steps // 2)
        hashes = {run_variant([job], threads=t)[job.arg()]["final_state_hash"] for t in (1, 2)}
    return len(hashes) == 1


def model_timing(
    model: str, repeats: int, device: str = "cpu", steps_per_repeat: int | None = None
) -> dict[str, object]:
    """``{"ratio", "native_ms", "repro_ms"}`` plus tokens/s of both runtimes for token models."""
    steps = steps_per_repeat or STEPS_PER_REPEAT[model]
    native_s, repro_s = step_times(model, repeats, steps, device)
    out: dict[str, object] = {
        "ratio": round(repro_s / native_s, 3),
        "native_ms": round(native_s * 1e3, 3),
        "repro_ms": round(repro_s * 1e3, 3),
    }
    tokens = tokens_per_step(model)
    if tokens is not None:
        out["native_tokens_per_s"] = round(tokens / native_s, 1)
        out["repro_tokens_per_s"] = round(tokens / repro_s, 1)
    return out


def run_repro_bench(
    *,
    repeats: int = 5,
    threads: int | None = None,
    check_steps: int = 10,
    models: list[str] | None = None,
    check: bool = True,
) -> dict[str, object]:
    """``{"models": {name: {"ratio", "native_ms", "repro_ms", ["*_tokens_per_s"], "reproducible"}},
    "threads": n}`` for ``models`` (default: all); ``check=False`` skips the reproducibility runs."""
    if threads is not None:
        torch.set_num_threads(threads)
    results: dict[str, object] = {}
    for model in models or list(MODELS):
        if model not in MODELS:
            raise ValueError(f"unknown bench model {model!r} (known: {', '.join(MODELS)})")
        entry = model_timing(model, repeats)
        if check:
            entry["reproducible"] = _reproducible(model, check_steps)
        results[model] = entry
    return {"models": results, "threads": torch.get_num_threads()}
