"""``crowdtrain model``: bring pretrained weights into a job (Hugging Face checkpoints)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Pretrained models: import Hugging Face checkpoints.", no_args_is_help=True)


@app.command("import")
def import_cmd(
    folder: Path = typer.Argument(
        ..., help="Hugging Face checkpoint folder (config.json + safetensors)."
    ),
    blob_dir: Path | None = typer.Option(None, help="Blob folder (default: CROWDTRAIN_BLOB_DIR)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Pack a local Llama checkpoint into content-addressed blobs and print the address a spec's
    ``"init": {"address": ...}`` takes, with the spec's matching ``model`` section."""
    from node.config import load_settings
    from node.hf.importer import import_checkpoint
    from node.storage import open_store

    result = import_checkpoint(folder, open_store(load_settings(blob_dir=blob_dir)))
    if as_json:
        summary = {
            "address": result.address,
            "init": {"address": result.address},
            "model": result.model,
            "parameters": result.parameters,
            "source_dtypes": list(result.source_dtypes),
            "tensors": result.tensors,
        }
        typer.echo(json.dumps(summary, sort_keys=True))
        return
    typer.echo(
        f"imported {result.tensors} tensors ({result.parameters:,} parameters, "
        f"{'/'.join(result.source_dtypes)} -> float32) from {folder}",
        err=True,
    )
    typer.echo(f'spec sections: "model": {json.dumps(result.model)},', err=True)
    typer.echo(f'               "init": {{"address": "{result.address}"}}', err=True)
    typer.echo(result.address)
