"""``crowdtrain data``: build the example datasets as deterministic, content-addressed blobs."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Datasets (example builders).", no_args_is_help=True)


@app.command("prepare")
def prepare(
    name: str = typer.Argument(..., help="Example dataset: digits | text."),
    out: Path | None = typer.Option(None, "--out", help="Also write the blob to this file."),
    blob_dir: Path | None = typer.Option(None, help="Blob folder (default: CROWDTRAIN_BLOB_DIR)."),
) -> None:
    """Build dataset NAME into the blob store and print its address (same bytes on every run)."""
    from node.config import load_settings
    from node.storage import open_store
    from node.training.data import example_blob

    blob = example_blob(name)
    address = open_store(load_settings(blob_dir=blob_dir)).put(blob)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(blob)
    typer.echo(address)
