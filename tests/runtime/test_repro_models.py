"""repro-v1 at model level: the example specs' final stateHash is the same under every variation.

Each variant trains the three example specs (runtime overridden to repro-v1) through the real
trainer, with checkpoints, in its own interpreter (kernel-selecting env vars are read when torch
loads; see ``bench.repro_run``). Most variants run 40 steps with K = 10; 1 vs 2 threads also
runs the full 200 steps (K = 20), whose losses feed the quality test. ``native`` serves as the
negative control: its hashes must differ across thread counts, or these tests could not tell a
silent fall-back to native kernels from a reproducible runtime.
"""

from __future__ import annotations

import functools
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
import torch

from bench.repro_run import EXAMPLE_SPECS, FULL_JOBS, SHORT_JOBS, Job, run_variant

Results = dict[str, dict[str, Any]]


@functools.cache
def short_runs(threads: int = 2) -> Results:
    """The reference variant: 40 steps of every example, default environment."""
    return run_variant(SHORT_JOBS, threads=threads)


@functools.cache
def full_runs(threads: int) -> Results:
    """200 steps of every example (the golden hashes and the quality test use the 2-thread run)."""
    return run_variant(FULL_JOBS, threads=threads)


def _hashes(results: Results) -> dict[str, str]:
    return {arg: r["final_state_hash"] for arg, r in results.items()}


def _capabilities() -> list[str]:
    """ATEN_CPU_CAPABILITY values this CPU can run (``default`` always; avx512 only where present)."""
    have = torch.backends.cpu.get_cpu_capability()
    order = ["default", "avx2", "avx512"]
    return order[: order.index(have.lower()) + 1] if have.lower() in order else ["default"]


VARIANTS: dict[str, tuple[int, dict[str, str]]] = {
    "threads1": (1, {}),
    **{f"aten_{c}": (2, {"ATEN_CPU_CAPABILITY": c}) for c in _capabilities()},
    "mkl_sse4_2": (2, {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}),
    # oneDNN's int8 GEMM without VNNI (saturating int16 pair sums): the path older CPUs take.
    "onednn_avx2_no_vnni": (2, {"ONEDNN_MAX_CPU_ISA": "AVX2"}),
    # The torch-op definitions instead of the fused C kernels (machines without a compiler).
    "kernels_off": (2, {"CROWDTRAIN_REPRO_KERNELS": "0"}),
    "fresh_process": (2, {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_final_hash_identical_across_variants(variant: str) -> None:
    threads, env = VARIANTS[variant]
    assert _hashes(run_variant(SHORT_JOBS, threads=threads, env=env)) == _hashes(short_runs())


@pytest.mark.slow
def test_resume_from_checkpoint_matches_continuous_run(tmp_path: Path) -> None:
    """A run killed after checkpoint 2 and resumed in a new process ends on the continuous hash."""
    stopped = run_variant(SHORT_JOBS, threads=2, work=tmp_path, stop_after=2)
    assert all(r == {"stopped_after": 2} for r in stopped.values())
    resumed = run_variant(SHORT_JOBS, threads=1, work=tmp_path)
    assert all(r["resumed_from_step"] == 20 for r in resumed.values())
    assert _hashes(resumed) == _hashes(short_runs())


@pytest.mark.slow
def test_full_200_steps_identical_across_thread_counts() -> None:
    assert _hashes(full_runs(1)) == _hashes(full_runs(2))


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLE_SPECS)
def test_quality_close_to_native(name: str) -> None:
    """Same initial weights and batches: mean loss of the last 20 of 200 steps within 2% of native's."""
    native = native_full_runs()[Job(name, "native", 200, 20).arg()]["losses"]
    repro = full_runs(2)[Job(name, steps=200, every=20).arg()]["losses"]
    assert len(repro) == len(native) == 200
    want, got = statistics.fmean(native[-20:]), statistics.fmean(repro[-20:])
    assert math.isfinite(got)
    assert abs(got - want) <= 0.02 * abs(want), f"{name}: repro {got:.4f} vs native {want:.4f}"


@functools.cache
def native_full_runs() -> Results:
    return run_variant([Job(n, "native", 200, 20) for n in EXAMPLE_SPECS], threads=2)


@pytest.mark.slow
def test_native_differs_across_thread_counts() -> None:
    """Negative control: stock fp32 kernels change bits with the thread count (here, all three)."""
    jobs = [Job(n, "native") for n in EXAMPLE_SPECS]
    one, two = run_variant(jobs, threads=1), run_variant(jobs, threads=2)
    differing = [arg for arg in _hashes(one) if _hashes(one)[arg] != _hashes(two)[arg]]
    assert differing, "native gave identical hashes on 1 and 2 threads: the control is blind"
