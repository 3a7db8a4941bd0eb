"""``crowdtrain solver run``: the solver daemon (claim, train, commit, finalize, withdraw)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from cli.chain_cmds import PrivateKeyOption, RpcUrlOption, fail, open_protocol

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
    min_price_per_pflop: float = typer.Option(
        0.0,
        "--min-price-per-pflop",
        help="Least reward per PFLOP of work, CROWD: waits while an auction's offer is below it.",
    ),
    memory_limit: str | None = typer.Option(
        None,
        "--memory-limit",
        help="Memory training may use, bytes or e.g. 8GiB (default: what the device has free).",
    ),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Claim jobs this node can train, train them, commit the trace, finalize after the
    challenge window and withdraw the reward. Restart-safe: a killed solver resumes its claim
    from the last checkpoint."""
    from node.config import load_settings
    from node.runtime.device import resolve_device
    from node.solver.capability import format_memory_size, measure_capability, parse_memory_size
    from node.solver.daemon import Solver
    from node.solver.policy import ClaimPolicy
    from node.storage import open_store

    run_device = str(resolve_device(device))  # a bad --device fails before any chain call
    limit = None if memory_limit is None else parse_memory_size(memory_limit)
    try:
        policy = ClaimPolicy(min_price_per_pflop=min_price_per_pflop)
    except ValueError as err:
        fail(f"--min-price-per-pflop: {err}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s solver %(message)s")
    settings = load_settings(
        rpc_url=rpc_url,
        private_key=private_key,
        data_dir=data_dir,
        blob_dir=blob_dir,
        threads=threads,
    )
    protocol = open_protocol(settings.rpc_url, settings.require_private_key())
    capability = measure_capability(settings.data_dir, memory_limit=limit, device=run_device)
    solver = Solver(
        protocol,
        open_store(settings),
        settings.data_dir,
        threads=settings.threads,
        device=run_device,
        poll_interval=settings.poll_interval,
        capability=capability,
        policy=policy,
    )
    typer.echo(f"solver {protocol.address} on chain {protocol.deployment.chain_id}")
    throughput = ", ".join(
        f"{runtime} {rate / 1e9:.3g} GFLOP/s"
        for runtime, rate in capability.flops_per_second.items()
    )
    typer.echo(
        f"capability: {capability.device}, {format_memory_size(capability.memory_bytes)} memory, "
        f"{throughput}; claiming at >= {policy.min_price_per_pflop:g} CROWD per PFLOP"
    )
    stats = solver.run(once=once, max_seconds=max_seconds)
    typer.echo(
        f"claimed {stats.claimed}, committed {stats.committed}, finalized {stats.finalized}, "
        f"abandoned {stats.abandoned}, withdrew {stats.withdrawn} wei"
    )
