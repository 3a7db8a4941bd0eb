"""``scripts/device_check``: the golden specs on a GPU must end on the CPU's golden stateHashes.

The protocol lets a GPU solver be checked by a CPU verifier, so ``repro-v1`` on CUDA (its torch-op
definitions, exact integer GEMMs through ``torch._int_mm``/float64 ``bmm``) must reproduce the
hashes in ``tests/runtime/golden/repro_v1.json``, which a CPU wrote. This trains every golden run
(``SHORT_JOBS`` and ``FULL_JOBS``) on the device, compares, and prints step time and tokens/s of
both runtimes for the gpt and llama benchmark shapes (``bench.repro``) on that device.
Exit status 1 when a hash differs or the device is missing. Meant to finish in under 5 minutes on
one H100.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.repro import model_timing
from bench.repro_run import FULL_JOBS, GOLDEN_PATH, SHORT_JOBS, train_job


def check_goldens(device: str, jobs: list[str] | None = None) -> dict[str, dict[str, object]]:
    """``{job: {"golden", "got", "match", "seconds"}}`` for the golden runs trained on ``device``."""
    golden: dict[str, str] = json.loads(GOLDEN_PATH.read_text())["hashes"]
    out: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="crowdtrain-device-") as tmp:
        for job in [*SHORT_JOBS, *FULL_JOBS]:
            if jobs and job.name not in jobs:
                continue
            started = time.perf_counter()
            result = train_job(job, Path(tmp), torch.get_num_threads(), device=device)
            got = result["final_state_hash"]
            out[job.arg()] = {
                "golden": golden[job.arg()],
                "got": got,
                "match": got == golden[job.arg()],
                "seconds": round(time.perf_counter() - started, 2),
            }
            print(
                f"{job.arg():32s} {'OK  ' if got == golden[job.arg()] else 'DIFF'} "
                f"{got[:18]}  {out[job.arg()]['seconds']} s",
                flush=True,
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per model")
    parser.add_argument("--only", nargs="*", help="golden spec names to check (default: all)")
    parser.add_argument("--no-timing", action="store_true", help="skip the step-time benchmark")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("device_check: no CUDA device available", file=sys.stderr)
        return 1
    name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu"
    print(f"device {args.device} ({name}), torch {torch.__version__}", flush=True)
    results = check_goldens(args.device, args.only)
    timings: dict[str, object] = {}
    if not args.no_timing:
        for model in ("gpt", "llama"):
            timings[model] = model_timing(model, args.repeats, args.device, steps_per_repeat=3)
            print(f"{model}: {json.dumps(timings[model])}", flush=True)
    ok = all(r["match"] for r in results.values())
    summary = {"device": args.device, "name": name, "goldens": results, "timing": timings}
    print(json.dumps({"ok": ok, **summary}, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
