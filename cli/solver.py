"""``crowdtrain solver run``: the solver daemon (claim, train, commit, finalize, withdraw)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from cli.chain_cmds import PrivateKeyOption, RpcUrlOption, open_protocol

app = typer.Typer(help="Run a solver node.", no_args_is_help=True)


@app.command("run")
def run(
    once: bool = typer.Option(False, "--once", help="Stop after one job is finalized and paid."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Journal and work folders (env CROWDTRAIN_DATA_DIR)."
    ),
    blob_dir: Path | None = typer.Option(
        None, "--blob-dir", help="Blob folder (env CROWDTRAIN_BLOB_DIR)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="Training threads (env CROWDTRAIN_THREADS)."
    ),
    device: str | None = typer.Option(
        None, "--device", help="cpu | cuda | cuda:N for training (default: cuda when available)."
    ),
    max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop after this long."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Claim jobs this node can train, train them, commit the trace, finalize after the
    challenge window and withdraw the reward. Restart-safe: a killed solver resumes its claim
    from the last checkpoint."""
    from node.config import load_settings
    from node.runtime.device import resolve_device
    from node.solver.daemon import Solver
    from node.storage import open_store

    run_device = str(resolve_device(device))  # a bad --device fails before any chain call
    logging.basicConfig(level=logging.INFO, format="%(asctime)s solver %(message)s")
    settings = load_settings(
        rpc_url=rpc_url,
        private_key=private_key,
        data_dir=data_dir,
        blob_dir=blob_dir,
        threads=threads,
    )
    protocol = open_protocol(settings.rpc_url, settings.require_private_key())
    solver = Solver(
        protocol,
        open_store(settings),
        settings.data_dir,
        threads=settings.threads,
        device=run_device,
        poll_interval=settings.poll_interval,
    )
    typer.echo(f"solver {protocol.address} on chain {protocol.deployment.chain_id}")
    stats = solver.run(once=once, max_seconds=max_seconds)
    typer.echo(
        f"claimed {stats.claimed}, committed {stats.committed}, finalized {stats.finalized}, "
        f"abandoned {stats.abandoned}, withdrew {stats.withdrawn} wei"
    )
