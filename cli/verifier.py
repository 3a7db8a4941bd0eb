"""``crowdtrain verifier run``: the verifier node (attest, challenge, bisect, serve juries)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from cli.chain_cmds import PrivateKeyOption, RpcUrlOption, open_protocol

app = typer.Typer(help="Run a verifier node.", no_args_is_help=True)


@app.command("run")
def run(
    once: bool = typer.Option(
        False, "--once", help="Stop once no committed job or open dispute is left."
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Journal folder (env CROWDTRAIN_DATA_DIR)."
    ),
    blob_dir: Path | None = typer.Option(
        None, "--blob-dir", help="Blob folder (env CROWDTRAIN_BLOB_DIR)."
    ),
    check_all: bool = typer.Option(
        False, "--check-all", help="Replay every segment, not only the assigned ones."
    ),
    aggregate: bool = typer.Option(
        False,
        "--aggregate",
        help="Publish rounds jobs' outer steps (bonding the least solver stake each) and "
        "disprove wrong ones (docs/ROUNDS.md, Aggregator).",
    ),
    device: str | None = typer.Option(
        None, "--device", help="cpu | cuda | cuda:N for replays (default: cuda when available)."
    ),
    max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop after this long."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Record seeds, replay assigned segments, attest (commit/reveal) or challenge, play the
    bisection, serve jury duty, open availability claims and withdraw earnings. Restart-safe:
    salts and findings live in a SQLite journal in the data folder."""
    from node.config import load_settings
    from node.runtime.device import resolve_device
    from node.storage import open_store
    from verifier.node import VerifierNode

    run_device = str(resolve_device(device))  # a bad --device fails before any chain call
    logging.basicConfig(level=logging.INFO, format="%(asctime)s verifier %(message)s")
    settings = load_settings(
        rpc_url=rpc_url, private_key=private_key, data_dir=data_dir, blob_dir=blob_dir
    )
    protocol = open_protocol(settings.rpc_url, settings.require_private_key())
    node = VerifierNode(
        protocol,
        open_store(settings),
        settings.data_dir,
        check_all=check_all,
        aggregate=aggregate,
        device=run_device,
        poll_interval=settings.poll_interval,
    )
    typer.echo(f"verifier {protocol.address} on chain {protocol.deployment.chain_id}")
    node.run(once=once, max_seconds=max_seconds)
    typer.echo(f"sent {len(node.responder.sent)} moves, withdrew {node.withdrawn} wei")


@app.command("register")
def register(
    stake: str = typer.Option("200", "--stake", help="CROWD to stake first (0: none)."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Stake (optionally) and join the verifier set, so draws for attesters and jurors can pick
    this account (needs at least the minimum verifier stake)."""
    from node.chain.units import parse_crowd
    from node.config import load_settings

    amount = parse_crowd(stake, allow_zero=True)
    settings = load_settings(rpc_url=rpc_url, private_key=private_key)
    protocol = open_protocol(settings.rpc_url, settings.require_private_key())
    if amount > 0:
        protocol.stake(amount)
    protocol.registry.register_verifier()
    typer.echo(f"verifier {protocol.address} registered")
