"""``crowdtrain train``: run a job spec locally (no chain) and print its final stateHash.

A rounds spec (docs/ROUNDS.md) runs every unit of every round on this machine instead
(``simulate_rounds``, all slots included): one line per round, then the hash of the final global
parameters and outer momentum.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from node.storage import BlobStore
    from node.training.spec import JobSpec

import typer


def register(app: typer.Typer) -> None:
    """Add ``train`` to the top-level app."""
    app.command("train")(train_cmd)


def train_cmd(
    spec_path: Path = typer.Argument(..., help="Job spec, JSON or TOML."),
    out: Path = typer.Option(
        ..., "--out", help="Work dir: progress, per-step hashes, result (resumable)."
    ),
    runtime: str | None = typer.Option(
        None, help="Override the spec's runtime: native | repro-v1."
    ),
    steps: int | None = typer.Option(
        None, help="Override steps (must stay a multiple of checkpoint_every)."
    ),
    threads: int | None = typer.Option(None, help="Torch threads (default: CROWDTRAIN_THREADS)."),
    device: str | None = typer.Option(
        None, help="cpu | cuda | cuda:N (default: cuda when available, else cpu)."
    ),
    blob_dir: Path | None = typer.Option(None, help="Blob folder (default: CROWDTRAIN_BLOB_DIR)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on the last line."),
    fmt: str = typer.Option(
        "state",
        "--format",
        help="state: checkpoints in the blob store only; hf: also OUT/hf, a Hugging Face folder "
        "of the final model (llama).",
    ),
) -> None:
    """Train SPEC with jobId 0, attempt 0; checkpoints and the manifest go to the blob store.

    A rounds spec runs all its units locally and writes OUT/rounds.json."""
    from node.config import load_settings
    from node.errors import SpecError
    from node.runtime.device import resolve_device
    from node.storage import open_store
    from node.training.spec import load_spec
    from node.training.trainer import train

    settings = load_settings(blob_dir=blob_dir, threads=threads)
    run_device = resolve_device(device)
    spec = load_spec(spec_path)
    if runtime is not None or steps is not None:
        spec = spec.with_overrides(runtime=runtime, steps=steps)
    if fmt not in ("state", "hf"):
        raise SpecError(f"unknown --format {fmt!r} (known: state, hf)")
    if fmt == "hf":
        from node.hf.config import hf_config

        hf_config(spec.model.model_dump())  # refuses a model that has no Hugging Face form
    store = open_store(settings)
    if spec.rounds is not None:
        if fmt != "state":
            raise SpecError("--format hf is not available for a rounds spec")
        _train_rounds(spec, store, out, run_device, as_json)
        return

    def progress(record: object) -> None:
        from node.trace.workdir import CheckpointRecord

        assert isinstance(record, CheckpointRecord)
        val = "" if record.validation_loss is None else f" val_loss {record.validation_loss:.4f}"
        typer.echo(
            f"checkpoint {record.index} step {record.step} 0x{record.state_hash.hex()}{val}",
            err=True,
        )

    result = train(
        spec,
        store=store,
        work_dir=out,
        job_id=0,
        attempt=0,
        threads=settings.threads,
        on_checkpoint=progress,
        device=run_device,
    )
    summary = result.summary()
    if fmt == "hf":
        from node.hf.export import export_model
        from node.training.checkpoint import verify_final_model

        final = store.get(result.checkpoints[-1].address)
        state = verify_final_model(spec, final, result.final_state_hash)
        hf_dir = out / "hf"
        if hf_dir.exists():
            shutil.rmtree(hf_dir)  # this run's own export from an earlier call: rewritten whole
        export_model(
            spec, state.params, store, hf_dir, extra_files={"spec.json": spec.canonical_json()}
        )
        summary["hf"] = str(hf_dir)
        typer.echo(f"hf            {hf_dir}", err=True)
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True))
    else:
        typer.echo(f"stateRoot     0x{result.state_root.hex()}")
        typer.echo(f"segRootsRoot  0x{result.seg_roots_root.hex()}")
        typer.echo(f"manifest      {result.manifest_address}")
        typer.echo(f"loss          {result.losses[0]:.4f} -> {result.losses[-1]:.4f}")
        typer.echo(f"seconds       {result.seconds:.2f} on {run_device}")
        typer.echo(f"0x{result.final_state_hash.hex()}")


def _train_rounds(
    spec: JobSpec, store: BlobStore, out: Path, device: torch.device, as_json: bool
) -> None:
    """Every unit of every round locally; per-round losses on stderr, a summary in OUT."""
    import time

    from node.training.data import load_dataset
    from node.training.rounds import simulate_rounds

    def progress(r: int, loss: float, val: float | None) -> None:
        tail = "" if val is None else f" val_loss {val:.4f}"
        typer.echo(f"round {r} train_loss {loss:.4f}{tail}", err=True)

    assert spec.rounds is not None
    started = time.perf_counter()
    run = simulate_rounds(
        spec, load_dataset(spec, store), device=device, store=store, on_round=progress
    )
    summary = {
        "spec_hash": "0x" + spec.spec_hash().hex(),
        "workers": spec.rounds.workers,
        "rounds": spec.rounds.rounds,
        "inner_steps": spec.steps,
        "losses": run.losses,
        "validation_losses": run.validation_losses,
        "final_hash": "0x" + run.final_hash().hex(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "rounds.json").write_text(json.dumps(summary, sort_keys=True) + "\n")
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True))
    else:
        typer.echo(f"loss          {run.losses[0]:.4f} -> {run.losses[-1]:.4f}")
        typer.echo(f"seconds       {summary['seconds']:.2f} on {device}")
        typer.echo(str(summary["final_hash"]))
