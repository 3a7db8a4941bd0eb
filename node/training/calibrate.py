"""This machine's measured training throughput per runtime, to turn an estimate's FLOPs into seconds.

A step's time is ``overhead + flops_per_step / flops_per_second``: a fixed cost per step (Python,
autograd, kernel launches, the state's hashing) that dominates a small model, and a throughput
that dominates a big one (repro-v1's int8-limb GEMMs only start above 2^26 multiply-adds). A short
measurement times steps of two gpt models per runtime, the example's shape and one 4x wider whose
GEMMs take the int8 path: the throughput comes from the wider one, the fixed cost from the small
one. It is cached as JSON under the node's data folder (one file per device), keyed by the torch
version and the thread count, which move throughput; a cache that does not parse or does not
match is measured again.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from node.errors import CrowdtrainError
from node.training.estimate import RUNTIME_NAMES, JobEstimate, estimate_job
from node.training.spec import JobSpec, parse_spec

DEVICES = ("cpu", "cuda")
CALIBRATION_VERSION = 2
SECONDS_PER_MODEL = 1.0
"""Timed steps of each model run until this long has passed (after one untimed warm-up step)."""
MIN_TIMED_STEPS = 3

_CALIBRATION_BASE: dict[str, Any] = {
    "dataset": {"address": "sha256:" + "0" * 64, "format": "tokens"},
    "optimizer": {"name": "adamw", "lr": 0.003, "grad_clip": 1.0},
    "steps": 1000,
    "checkpoint_every": 10,
}
CALIBRATION_MODELS: tuple[dict[str, Any], ...] = (
    {
        "model": {
            "architecture": "gpt",
            "vocab_size": 64,
            "block_size": 32,
            "n_layer": 2,
            "n_head": 4,
            "n_embd": 64,
        },
        "batch_size": 16,
    },
    {
        "model": {
            "architecture": "gpt",
            "vocab_size": 64,
            "block_size": 64,
            "n_layer": 1,
            "n_head": 4,
            "n_embd": 256,
        },
        "batch_size": 8,
    },
)
"""The example gpt job's model and batch (``examples/specs/gpt_text.json``), where the fixed cost
per step dominates, and a 256-wide one (512 tokens a step) whose projections take repro-v1's
int8-limb path, where the throughput does."""


class CalibrationError(CrowdtrainError):
    """Raised when no calibration is cached and measuring was not allowed, or the device is absent."""


@dataclass(frozen=True)
class Calibration:
    """Measured training speed of one device, per runtime: throughput in estimate FLOPs per
    second, and the fixed cost of a step in seconds (absent: none)."""

    device: str
    flops_per_second: Mapping[str, float]
    step_overhead_seconds: Mapping[str, float] = field(default_factory=dict)


def load_calibration(cache_dir: Path, device: str = "cpu", *, measure: bool = True) -> Calibration:
    """The cached calibration of ``device`` under ``cache_dir``, measured (and cached) when absent.

    CalibrationError when the device is unknown or absent, or when nothing usable is cached and
    ``measure`` is False.
    """
    if device not in DEVICES:
        raise CalibrationError(f"unknown device {device!r} (known: {', '.join(DEVICES)})")
    path = cache_dir / f"calibration-{device}.json"
    cached = _read_cache(path, device)
    if cached is not None:
        return cached
    if not measure:
        raise CalibrationError(
            f"no calibration of {device} cached in {path} (run `crowdtrain job estimate` once to "
            "measure it)"
        )
    calibration = measure_calibration(device)
    save_calibration(cache_dir, calibration)
    return calibration


def save_calibration(cache_dir: Path, calibration: Calibration) -> Path:
    """Cache ``calibration`` (written whole or not at all); the file's path."""
    path = cache_dir / f"calibration-{calibration.device}.json"
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_cache_record(calibration), sort_keys=True))
    tmp.replace(path)
    return path


def expected_seconds(estimate: JobEstimate, calibration: Calibration, runtime: str) -> float:
    """Wall time of the whole job: its steps' fixed cost plus ``flops_total`` at the measured
    throughput of ``runtime``."""
    try:
        rate = calibration.flops_per_second[runtime]
    except KeyError:
        raise CalibrationError(
            f"no throughput of runtime {runtime!r} in the calibration of {calibration.device}"
        ) from None
    steps = estimate.flops_total // estimate.flops_per_step if estimate.flops_per_step else 0
    return steps * calibration.step_overhead_seconds.get(runtime, 0.0) + estimate.flops_total / rate


def measure_calibration(device: str) -> Calibration:
    """Time a few steps of each calibration model per runtime on ``device``: the throughput from
    the bigger one, the fixed cost per step from the small one (a few seconds)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise CalibrationError("device cuda requested but torch sees no CUDA device")
    rates: dict[str, float] = {}
    overheads: dict[str, float] = {}
    for runtime in RUNTIME_NAMES:
        (f1, t1), (f2, t2) = (_time_steps(spec, runtime, device) for spec in calibration_specs())
        # The throughput is the bigger model's whole step (its fixed cost included: on the slow
        # side); the fixed cost is what the small model's step takes beyond its FLOPs at that
        # throughput. A two-point slope would be exact on a quiet machine and wild on a busy one.
        rates[runtime] = f2 / t2
        overheads[runtime] = max(t1 - f1 * t2 / f2, 0.0)
    return Calibration(device=device, flops_per_second=rates, step_overhead_seconds=overheads)


def _time_steps(spec: JobSpec, runtime: str, device: str) -> tuple[int, float]:
    """``(flops_per_step, median step seconds)`` of ``spec`` on ``runtime``: the median, so one
    step slowed by another process on a shared machine moves it little."""
    from node.training.measure import session_of

    session = session_of(spec, runtime, device)
    state = session.step(session.initial_state())  # warm-up: kernels, caches, allocator
    _sync(device)
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < MIN_TIMED_STEPS or time.perf_counter() - started < SECONDS_PER_MODEL:
        begun = time.perf_counter()
        state = session.step(state)
        _sync(device)
        times.append(time.perf_counter() - begun)
    return estimate_job(spec).flops_per_step, statistics.median(times)


def calibration_specs() -> list[JobSpec]:
    return [parse_spec({**_CALIBRATION_BASE, **model}) for model in CALIBRATION_MODELS]


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _fingerprint() -> dict[str, object]:
    """What moves throughput besides the machine: the torch version and its thread count."""
    return {"torch": torch.__version__, "threads": torch.get_num_threads()}


def _cache_record(calibration: Calibration) -> dict[str, object]:
    return {
        "version": CALIBRATION_VERSION,
        "device": calibration.device,
        "flops_per_second": dict(calibration.flops_per_second),
        "step_overhead_seconds": {
            rt: calibration.step_overhead_seconds.get(rt, 0.0) for rt in RUNTIME_NAMES
        },
        **_fingerprint(),
    }


def _read_cache(path: Path, device: str) -> Calibration | None:
    """The cached calibration, or None when absent, unreadable, malformed or made elsewhere."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("version") != CALIBRATION_VERSION:
        return None
    if record.get("device") != device or any(record.get(k) != v for k, v in _fingerprint().items()):
        return None
    rates = _per_runtime(record.get("flops_per_second"), positive=True)
    overheads = _per_runtime(record.get("step_overhead_seconds"), positive=False)
    if rates is None or overheads is None:
        return None
    return Calibration(device=device, flops_per_second=rates, step_overhead_seconds=overheads)


def _per_runtime(values: object, *, positive: bool) -> dict[str, float] | None:
    """A ``{runtime: number}`` of every runtime, finite and > 0 (``positive``) or >= 0; else None."""
    if not isinstance(values, dict) or set(values) != set(RUNTIME_NAMES):
        return None
    for v in values.values():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return None
        if v < 0 or (positive and v == 0):
            return None
    return {k: float(v) for k, v in values.items()}
