"""How ``crowdtrain job estimate`` and ``job submit`` show a job's estimate (docs/MARKET.md, Estimates)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.training.calibrate import Calibration
    from node.training.estimate import JobEstimate
    from node.training.spec import JobSpec

WEI_PER_TOKEN = 10**18


def calibration_dir() -> Path:
    """Where this node caches its throughput calibration: under its data folder."""
    from node.config import load_settings

    return load_settings().data_dir / "calibration"


def si(value: float, unit: str) -> str:
    """``value`` with an SI prefix: ``346.7 MFLOP``, ``12.6 MB``."""
    if value == 0:
        return f"0 {unit}"
    exponent = min(max(math.floor(math.log10(abs(value)) / 3), 0), 6)
    prefix = ("", "k", "M", "G", "T", "P", "E")[exponent]
    return f"{value / 1000**exponent:.4g} {prefix}{unit}"


def duration(seconds: float) -> str:
    """``2h 05m``, ``3m 20s``, ``4.2 s``."""
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def estimate_lines(spec: JobSpec, estimate: JobEstimate) -> list[str]:
    """The estimate as aligned ``name  value`` lines."""
    memory = ", ".join(f"{rt} {si(b, 'B')}" for rt, b in estimate.peak_memory_bytes.items())
    rows = [
        ("parameters", f"{estimate.params:,}"),
        (
            "FLOPs per step",
            f"{si(estimate.flops_per_step, 'FLOP')} "
            f"(matmul {si(estimate.matmul_flops_per_step, 'FLOP')})",
        ),
        ("FLOPs in total", f"{si(estimate.flops_total, 'FLOP')} ({estimate.pflop:.4g} PFLOP)"),
        ("peak memory", memory),
        ("checkpoint", si(estimate.checkpoint_bytes, "B")),
        ("segments", str(estimate.segments) + (" per unit" if spec.rounds else "")),
        ("verifier replay", si(estimate.verifier_flops, "FLOP")),
    ]
    return [f"  {name:<16} {value}" for name, value in rows]


def time_line(estimate: JobEstimate, calibration: Calibration, runtime: str) -> str:
    from node.training.calibrate import expected_seconds

    seconds = expected_seconds(estimate, calibration, runtime)
    rate = calibration.flops_per_second[runtime]
    return (
        f"  {'expected time':<16} {duration(seconds)} on this {calibration.device} "
        f"({runtime} at {si(rate, 'FLOP/s')})"
    )


def price_per_pflop(price_wei: int, estimate: JobEstimate) -> float:
    """Tokens per PFLOP of the whole job."""
    return price_wei / WEI_PER_TOKEN / estimate.pflop if estimate.flops_total else math.inf


def submit_lines(spec: JobSpec, reward_wei: int, floor_wei: int | None = None) -> list[str]:
    """What ``job submit`` shows before it sends: the estimate, the expected time when this
    machine has a cached calibration (never measured here), and the price per PFLOP: the
    reward's (the cap), and the floor's where an auction starts below the cap."""
    from node.training.calibrate import CalibrationError, load_calibration
    from node.training.estimate import estimate_job

    estimate = estimate_job(spec)
    lines = ["estimate:", *estimate_lines(spec, estimate)]
    try:
        calibration = load_calibration(calibration_dir(), "cpu", measure=False)
        lines.append(time_line(estimate, calibration, spec.runtime))
    except CalibrationError:
        pass
    cap = f"{price_per_pflop(reward_wei, estimate):.6g} CROWD"
    if floor_wei is not None and floor_wei < reward_wei:
        price = f"{price_per_pflop(floor_wei, estimate):.6g} CROWD at the floor, rising to {cap}"
    else:
        price = cap
    lines.append(f"  {'price per PFLOP':<16} {price} ({estimate.pflop:.4g} PFLOP)")
    return lines
