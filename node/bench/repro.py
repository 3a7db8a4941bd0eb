"""``crowdtrain bench repro``: step time of repro-v1 vs native fp32 eager per model, and reproducibility.

For each model (the mlp and cnn examples as shipped; the gpt at 4 layers, d_model 256, 4 heads,
context 128, batch 16, the corpus' character vocabulary) both runtimes train from the same initial
state on the same batches, in this process, with the same thread count. The machine is shared, so
each repeat times a few native steps then a few repro steps back to back (interleaved) and the
ratio is of the medians. ``reproducible`` compares the final stateHash of short repro-v1 runs in
two fresh interpreters, one on 1 thread and one on 2 (``node.bench.repro_run``).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from node.bench.repro_run import SPEC_DIR, Job, run_variant

MODELS = {"mlp": "mlp_digits", "cnn": "cnn_digits", "gpt": "gpt_text"}
GPT_BENCH = {"n_layer": 4, "n_embd": 256, "n_head": 4, "block_size": 128}


def bench_spec(model: str, batch_size: int | None = None) -> dict[str, Any]:
    """The benchmark spec of ``model`` as a dict (runtime left for the caller to set)."""
    data: dict[str, Any] = json.loads((SPEC_DIR / f"{MODELS[model]}.json").read_text())
    if model == "gpt":
        from node.trace import tensorfile
        from node.training.data import text_blob

        tensors, _ = tensorfile.decode(text_blob(), "corpus")
        data["model"] = {**data["model"], **GPT_BENCH, "vocab_size": len(tensors["vocab"])}
        data["batch_size"] = 16
    if batch_size is not None:
        data["batch_size"] = batch_size
    return data


def _step_times(model: str, repeats: int, steps_per_repeat: int) -> tuple[float, float]:
    """Median seconds per step of (native, repro-v1), interleaved."""
    from node.training.data import decode_dataset, example_blob
    from node.training.session import TrainingSession
    from node.training.spec import parse_spec

    sessions, states = [], []
    for runtime in ("native", "repro-v1"):
        spec = parse_spec({**bench_spec(model), "runtime": runtime})
        blob = example_blob("text" if spec.dataset.format == "tokens" else "digits")
        session = TrainingSession(spec, decode_dataset(spec, blob))
        sessions.append(session)
        states.append(session.step(session.initial_state()))  # warm-up
    times: list[list[float]] = [[], []]
    for _ in range(repeats):
        for i, session in enumerate(sessions):
            started = time.perf_counter()
            for _ in range(steps_per_repeat):
                states[i] = session.step(states[i])
            times[i].append((time.perf_counter() - started) / steps_per_repeat)
    return statistics.median(times[0]), statistics.median(times[1])


def _reproducible(model: str, steps: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="crowdtrain-bench-") as tmp:
        path = Path(tmp) / f"{model}_bench.json"
        path.write_text(json.dumps(bench_spec(model)))
        job = Job(str(path), "repro-v1", steps, steps // 2)
        hashes = {run_variant([job], threads=t)[job.arg()]["final_state_hash"] for t in (1, 2)}
    return len(hashes) == 1


def run_repro_bench(
    *, repeats: int = 5, threads: int | None = None, check_steps: int = 10
) -> dict[str, object]:
    """``{"models": {name: {"ratio", "native_ms", "repro_ms", "reproducible"}}, "threads": n}``."""
    if threads is not None:
        torch.set_num_threads(threads)
    models: dict[str, object] = {}
    for model in MODELS:
        steps_per_repeat = 2 if model == "gpt" else 10
        native_s, repro_s = _step_times(model, repeats, steps_per_repeat)
        models[model] = {
            "ratio": round(repro_s / native_s, 3),
            "native_ms": round(native_s * 1e3, 3),
            "repro_ms": round(repro_s * 1e3, 3),
            "reproducible": _reproducible(model, check_steps),
        }
    return {"models": models, "threads": torch.get_num_threads()}
