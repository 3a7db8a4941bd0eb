"""Train an example spec in a child process and report its hashes: one variant of a reproducibility check.

``crowdtrain bench repro`` and the model-level tests compare final ``stateHash``es across thread
counts, CPU capabilities (``ATEN_CPU_CAPABILITY``), BLAS/oneDNN instruction limits and resumed runs.
Those switches are environment variables read once when torch loads, so every variant needs its own
interpreter: ``run_variant`` starts ``python -m bench.repro_run`` with the variant's environment,
which trains through the real trainer (checkpoints, work dir, resume) and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]  # bench/ sits at the top level
SPEC_DIR = REPO_ROOT / "examples" / "specs"
EXAMPLE_SPECS = ("mlp_digits", "cnn_digits", "gpt_text", "llama_text")
# Variables that select kernels; a variant starts from an environment without any of them.
KERNEL_ENV = (
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
    "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "CROWDTRAIN_THREADS",
)


@dataclass(frozen=True)
class Job:
    """One training run: spec ``name`` on ``runtime`` for ``steps`` with checkpoints every ``every``.

    ``name`` is an example under ``examples/specs`` or a path to a spec file (``.json``).
    """

    name: str
    runtime: str = "repro-v1"
    steps: int = 40
    every: int = 10

    def arg(self) -> str:
        return f"{self.name}:{self.runtime}:{self.steps}:{self.every}"

    @staticmethod
    def parse(text: str) -> Job:
        name, runtime, steps, every = text.split(":")
        return Job(name, runtime, int(steps), int(every))


# The runs the tests and golden hashes use: every example for 40 steps (K = 10), and for its full 200.
SHORT_JOBS = [Job(name) for name in EXAMPLE_SPECS]
FULL_JOBS = [Job(name, steps=200, every=20) for name in EXAMPLE_SPECS]
GOLDEN_PATH = REPO_ROOT / "tests" / "runtime" / "golden" / "repro_v1.json"
GOLDEN_NOTE = (
    "Final repro-v1 stateHashes of the example specs (runtime overridden), keyed "
    "name:runtime:steps:checkpoint_every. Regenerate only when a change to repro-v1, the models, "
    "the optimizer, the RNG, the data or the state format is meant to change them: "
    ".venv/bin/python -m bench.repro_run --write-golden"
)


def write_golden(path: Path = GOLDEN_PATH) -> dict[str, str]:
    """Train ``SHORT_JOBS`` and ``FULL_JOBS`` in a child process and write their final hashes."""
    results = run_variant([*SHORT_JOBS, *FULL_JOBS], threads=2)
    hashes = {arg: r["final_state_hash"] for arg, r in sorted(results.items())}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"note": GOLDEN_NOTE, "hashes": hashes}, indent=2) + "\n")
    return hashes


class _Stop(Exception):
    """Raised from the checkpoint callback to end a run early (the work dir keeps its progress)."""


def train_job(
    job: Job, work: Path, threads: int, stop_after: int | None = None, device: str = "cpu"
) -> dict[str, Any]:
    """Train ``job`` on ``device`` in this process with work dir ``work/<job>`` (resuming if it
    holds progress).

    With ``stop_after = i`` the run ends right after checkpoint ``i`` is recorded, as a crash would.
    """
    from node.storage import LocalBlobStore
    from node.trace.workdir import CheckpointRecord
    from node.training.data import example_blob
    from node.training.spec import load_spec
    from node.training.trainer import train

    path = Path(job.name) if job.name.endswith(".json") else SPEC_DIR / f"{job.name}.json"
    spec = load_spec(path).with_overrides(
        runtime=job.runtime, steps=job.steps, checkpoint_every=job.every
    )
    store = LocalBlobStore(work / "blobs")
    store.put(example_blob("text" if spec.dataset.format == "tokens" else "digits"))

    def on_checkpoint(record: CheckpointRecord) -> None:
        if stop_after is not None and record.index == stop_after:
            raise _Stop

    job_dir = work / f"{path.stem}-{job.runtime}-{job.steps}-{job.every}"
    try:
        result = train(
            spec,
            store=store,
            work_dir=job_dir,
            job_id=0,
            attempt=0,
            threads=threads,
            on_checkpoint=on_checkpoint,
            device=device,
        )
    except _Stop:
        return {"stopped_after": stop_after}
    return {
        "final_state_hash": "0x" + result.final_state_hash.hex(),
        "losses": result.losses,
        "resumed_from_step": result.resumed_from_step,
        "seconds": result.seconds,
    }


def run_variant(
    jobs: list[Job],
    *,
    threads: int,
    env: dict[str, str] | None = None,
    work: Path | None = None,
    stop_after: int | None = None,
    timeout: float = 600.0,
) -> dict[str, dict[str, Any]]:
    """Train ``jobs`` in a fresh interpreter with ``env`` set; results keyed by ``Job.arg()``."""
    full_env = {k: v for k, v in os.environ.items() if k not in KERNEL_ENV}
    # Sleeping (not spinning) OpenMP workers: on a loaded machine spinning threads slow a 2-thread
    # run 10x; the wait policy changes scheduling only, never which kernel runs.
    full_env["OMP_WAIT_POLICY"] = "PASSIVE"
    full_env.update(env or {})
    with tempfile.TemporaryDirectory(prefix="crowdtrain-repro-") as tmp:
        cmd = [sys.executable, "-m", "bench.repro_run", "--threads", str(threads)]
        cmd += ["--work", str(work or tmp)]
        if stop_after is not None:
            cmd += ["--stop-after", str(stop_after)]
        out = subprocess.run(
            [*cmd, *(j.arg() for j in jobs)],
            env=full_env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if out.returncode != 0:
        raise RuntimeError(f"variant {env} threads={threads} failed:\n{out.stderr[-4000:]}")
    results: dict[str, dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("jobs", nargs="*", help="name:runtime:steps:every")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--stop-after", type=int, default=None)
    parser.add_argument(
        "--write-golden", action="store_true", help=f"regenerate {GOLDEN_PATH.name}"
    )
    args = parser.parse_args(argv)
    if args.write_golden:
        print(json.dumps(write_golden(), indent=2))
        return
    if args.work is None or not args.jobs:
        parser.error("jobs and --work are required")
    results = {
        arg: train_job(Job.parse(arg), args.work, args.threads, args.stop_after)
        for arg in args.jobs
    }
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
