"""Measuring a spec's real step, to hold the estimate (``node.training.estimate``) to account.

- ``counted_matmul_flops``: the matmul and convolution FLOPs ``torch.utils.flop_counter`` counts
  over one forward and backward pass of the spec's model on the native runtime.
- ``measure_peak_memory``: the training peak of a real run of a few steps, in a fresh Python
  process so nothing earlier in this one (allocator caches, other models) blurs the number: on
  CUDA ``torch.cuda.max_memory_allocated``; on the CPU the growth of the peak resident set
  (``VmHWM``, reset through ``/proc/self/clear_refs`` once the runtime's own one-time costs are
  paid on a warm-up model) over the resident set before the job's session was built.

The data is synthetic, of the spec's shapes (values do not change FLOPs or memory), so any spec
can be measured without its dataset. Used by tests/training/test_estimate.py and ``bench market``.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from node.runtime import get_ops
from node.runtime.models import StepContext
from node.training.data import ClassificationData, Dataset, TokenData
from node.training.session import TrainingSession
from node.training.spec import CNNSpec, JobSpec, MLPSpec, parse_spec
from node.training.unit import UnitId

REPO = Path(__file__).resolve().parents[2]
LIVE_MEMORY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "131072"}
"""glibc settings of the measuring process: every buffer of 64 KiB or more is its own mapping,
returned when freed, so the peak resident set is the job's live peak. With glibc's default
(a threshold that rises to 32 MiB as buffers are freed) freed tensors below 32 MiB stay in the
heap and the resident set also holds the allocator's retention, which depends on the order of
frees, not on the job."""


def synthetic_dataset(spec: JobSpec, rows: int | None = None) -> Dataset:
    """A dataset of the spec's shapes: random features and labels, or a random token stream."""
    gen = torch.Generator().manual_seed(0)
    model = spec.model
    if isinstance(model, MLPSpec | CNNSpec):
        n = rows or max(spec.batch_size, 256)
        features = (
            model.input_dim
            if isinstance(model, MLPSpec)
            else model.in_channels * model.image_size**2
        )
        x = torch.rand(n, features, generator=gen)
        y = torch.randint(0, model.num_classes, (n,), generator=gen)
        return ClassificationData(x, y)
    length = rows or 4 * model.block_size + 64
    tokens = torch.randint(0, model.vocab_size, (length,), generator=gen)
    return TokenData(tokens, torch.arange(model.vocab_size), model.block_size)


def session_of(
    spec: JobSpec, runtime: str, device: str = "cpu", dataset: Dataset | None = None
) -> TrainingSession:
    """A training session of ``spec`` on synthetic data (unit (0, 0) of a rounds job)."""
    unit = UnitId(0, 0) if spec.rounds is not None else None
    data = dataset if dataset is not None else synthetic_dataset(spec)
    return TrainingSession(spec, data, get_ops(runtime), device=device, unit=unit)


def counted_matmul_flops(spec: JobSpec) -> int:
    """Matmul + conv FLOPs of one native forward and backward pass over one batch."""
    from torch.utils.flop_counter import FlopCounterMode

    session = session_of(spec, "native")
    state = session.initial_state()
    x, y, _, _ = session.dataset.batch(session.key, 0, 0, spec.batch_size)  # type: ignore[union-attr]
    leaves = {n: p.detach().requires_grad_(True) for n, p in state.params.items()}
    counter = FlopCounterMode(display=False)
    with counter:
        loss = torch.func.functional_call(
            session.model, leaves, (x, y, StepContext(session.key, 1))
        )
        torch.autograd.grad(loss, list(leaves.values()))
    return int(counter.get_total_flops())


def _rss_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _warm_up(spec: JobSpec, runtime: str, device: str, dataset: Dataset) -> None:
    """Pay the process's one-time costs (kernel builds and probes, thread pools, the kernels'
    primitive caches for these shapes) on one step of the same job, then drop everything it
    held, repro-v1's GEMM scratch and the heap's freed pages included, so only the job's own
    memory is measured."""
    from node.runtime.repro import workspace

    session = session_of(spec, runtime, device, dataset)
    session.step(session.initial_state())
    del session
    workspace.release()
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand the heap's freed pages back too
    if device == "cuda":
        torch.cuda.empty_cache()


def _peak_in_this_process(spec: JobSpec, runtime: str, device: str, steps: int) -> int:
    """The peak of ``steps`` real steps plus one checkpoint encode (what the trainer holds)."""
    from node.trace.state import encode_state, state_hash

    torch.set_num_threads(1)
    dataset = synthetic_dataset(spec)  # the data is not the job's training memory: loaded before
    _warm_up(spec, runtime, device, dataset)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        base = _rss_bytes("VmRSS")
    session = session_of(spec, runtime, device, dataset)
    state = session.initial_state()
    for _ in range(steps):
        state = session.step(state)
        state_hash(state)
    encode_state(state)
    if device == "cuda":
        torch.cuda.synchronize()
        return int(torch.cuda.max_memory_allocated()) - base
    return _rss_bytes("VmHWM") - base


def measure_peak_memory(spec: JobSpec, runtime: str, device: str = "cpu", steps: int = 2) -> int:
    """Peak training memory of ``spec`` on ``runtime`` and ``device``, measured in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **LIVE_MEMORY_MALLOC}
    request = json.dumps(
        {"spec": spec.model_dump(mode="json"), "runtime": runtime, "device": device, "steps": steps}
    )
    done = subprocess.run(
        [sys.executable, "-m", "node.training.measure"],
        input=request,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement failed: {done.stderr.strip()[-2000:]}")
    return int(json.loads(done.stdout.strip().splitlines()[-1])["peak_bytes"])


def _main() -> None:
    request: dict[str, Any] = json.loads(sys.stdin.read())
    spec = parse_spec({k: v for k, v in request["spec"].items() if v is not None})
    peak = _peak_in_this_process(spec, request["runtime"], request["device"], request["steps"])
    print(json.dumps({"peak_bytes": peak}))


if __name__ == "__main__":
    _main()
