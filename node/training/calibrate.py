"""This machine's measured training throughput per runtime, to turn an estimate's FLOPs into seconds.

A short measurement (a few seconds: repro-v1 and native steps of a small transformer, the shape
of the example ``gpt`` job) gives FLOP/s per runtime, counted in the estimate's FLOPs
(``JobEstimate.flops_per_step``), so ``flops_total / flops_per_second`` is the expected wall time.
It is cached as JSON under the node home (one file per device), keyed by the torch version and the
thread count, which move throughput; a cache that does not parse or does not match is measured
again. A small model runs further from peak than a big one, so the expected time of a big job is
on the long side: the safe side for a solver weighing a deadline.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from node.errors import CrowdtrainError
from node.training.estimate import RUNTIME_NAMES, JobEstimate, estimate_job
from node.training.spec import JobSpec, parse_spec

DEVICES = ("cpu", "cuda")
CALIBRATION_VERSION = 1
SECONDS_PER_RUNTIME = 1.5
"""Timed steps run until this long has passed (after one untimed warm-up step)."""
MIN_TIMED_STEPS = 3

CALIBRATION_SPEC: dict[str, Any] = {
    "model": {
        "architecture": "gpt",
        "vocab_size": 64,
        "block_size": 32,
        "n_layer": 2,
        "n_head": 4,
        "n_embd": 64,
    },
    "dataset": {"address": "sha256:" + "0" * 64, "format": "tokens"},
    "optimizer": {"name": "adamw", "lr": 0.003, "grad_clip": 1.0},
    "batch_size": 16,
    "steps": 1000,
    "checkpoint_every": 10,
}
"""The representative step: the example gpt job's model and batch (``examples/specs/gpt_text.json``)."""


class CalibrationError(CrowdtrainError):
    """Raised when no calibration is cached and measuring was not allowed, or the device is absent."""


@dataclass(frozen=True)
class Calibration:
    """Measured training throughput of one device, per runtime, in estimate FLOPs per second."""

    device: str
    flops_per_second: Mapping[str, float]


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
    """Wall time of the whole job (``flops_total``) at the measured throughput of ``runtime``."""
    try:
        rate = calibration.flops_per_second[runtime]
    except KeyError:
        raise CalibrationError(
            f"no throughput of runtime {runtime!r} in the calibration of {calibration.device}"
        ) from None
    return estimate.flops_total / rate


def measure_calibration(device: str) -> Calibration:
    """Time a few steps of the representative job per runtime on ``device`` (a few seconds)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise CalibrationError("device cuda requested but torch sees no CUDA device")
    from node.training.measure import session_of

    spec = calibration_spec()
    per_step = estimate_job(spec).flops_per_step
    rates: dict[str, float] = {}
    for runtime in RUNTIME_NAMES:
        session = session_of(spec, runtime, device)
        state = session.step(session.initial_state())  # warm-up: kernels, caches, allocator
        _sync(device)
        times: list[float] = []
        started = time.perf_counter()
        while len(times) < MIN_TIMED_STEPS or time.perf_counter() - started < SECONDS_PER_RUNTIME:
            begun = time.perf_counter()
            state = session.step(state)
            _sync(device)
            times.append(time.perf_counter() - begun)
        # the median step: one step slowed by another process on a shared machine moves it less
        rates[runtime] = per_step / statistics.median(times)
    return Calibration(device=device, flops_per_second=rates)


def calibration_spec() -> JobSpec:
    return parse_spec(CALIBRATION_SPEC)


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
    rates = record.get("flops_per_second")
    if not isinstance(rates, dict) or set(rates) != set(RUNTIME_NAMES):
        return None
    if not all(isinstance(r, int | float) and math.isfinite(r) and r > 0 for r in rates.values()):
        return None
    return Calibration(device=device, flops_per_second={k: float(v) for k, v in rates.items()})
