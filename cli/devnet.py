"""``crowdtrain devnet up|down|status``: a local Anvil chain with the protocol deployed and funded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from node.chain.deploy import ContractRecord

app = typer.Typer(
    help="Local devnet: Anvil + deployed contracts + funded dev accounts.", no_args_is_help=True
)

HomeOption = typer.Option(
    None,
    "--home",
    help="Devnet folder (pid, log, state). Default: $CROWDTRAIN_DEVNET_DIR or ~/.crowdtrain/devnet.",
)


@app.command("up")
def up(
    home: Path | None = HomeOption,
    port: int = typer.Option(8545, help="Port Anvil listens on (127.0.0.1)."),
    challenge_window: int = typer.Option(
        120, help="Challenge window of a new deployment, seconds."
    ),
    reveal_phase: int = typer.Option(
        60, help="Reveal phase of a new deployment (attesters reveal after the window), seconds."
    ),
    jury_commit_phase: int = typer.Option(
        60, help="Seconds jurors have to commit their votes in a new deployment."
    ),
    jury_reveal_phase: int = typer.Option(
        60, help="Seconds jurors have to reveal their votes in a new deployment."
    ),
    min_solve_timeout: int = typer.Option(
        60, help="Least solve timeout a job of a new deployment may ask for, seconds."
    ),
) -> None:
    """Start Anvil (--block-time 1), deploy, mint 1,000,000 CROWD to dev accounts 0-9. Idempotent."""
    from node.chain.deploy import DeploymentParams
    from node.chain.devnet import FAUCET_AMOUNT, dev_account, devnet_home, devnet_up
    from node.chain.units import format_crowd
    from node.config import load_settings

    settings = load_settings()
    result = devnet_up(
        devnet_home(home),
        port=port,
        deployments_dir=settings.deployments_dir,
        params=DeploymentParams(
            challenge_window=challenge_window,
            reveal_phase=reveal_phase,
            jury_commit_phase=jury_commit_phase,
            jury_reveal_phase=jury_reveal_phase,
            min_solve_timeout=min_solve_timeout,
        ),
    )
    if not result.started and not result.deployed:
        typer.echo("devnet already up and deployed; nothing to do")
        _print_status(result.info.rpc_url, settings.deployments_dir)
        return
    verb = "started" if result.started else "found running"
    typer.echo(f"devnet {verb} at {result.info.rpc_url} (pid {result.info.pid}, block time 1 s)")
    if result.deployed:
        typer.echo(f"deployed and funded; deployment file: {result.info.deployment_file}")
    _print_contracts(result.deployment.contracts)
    typer.echo(
        f"\ndev accounts (each holds {format_crowd(FAUCET_AMOUNT)} CROWD). These are Anvil's "
        "PUBLIC test keys: never use them on a real chain."
    )
    for index in range(10):
        account = dev_account(index)
        typer.echo(f"  [{index}] {account.address}  key 0x{account.key.hex().removeprefix('0x')}")
    typer.echo(f"\nexport CROWDTRAIN_RPC_URL={result.info.rpc_url}")


@app.command("down")
def down(home: Path | None = HomeOption) -> None:
    """Stop the devnet and remove its state and deployment file."""
    from node.chain.devnet import devnet_down, devnet_home

    info = devnet_down(devnet_home(home))
    typer.echo("devnet stopped" if info is not None else "no devnet was running")


@app.command("status")
def status(home: Path | None = HomeOption) -> None:
    """Chain id, block and contract addresses of the running devnet (exit 1 when it is down)."""
    from node.chain.devnet import devnet_home, running_devnet
    from node.config import load_settings

    info = running_devnet(devnet_home(home))
    if info is None:
        from cli.chain_cmds import fail

        fail("devnet is not running (start it with `crowdtrain devnet up`)")
    typer.echo(f"devnet running at {info.rpc_url} (pid {info.pid})")
    _print_status(info.rpc_url, load_settings().deployments_dir)


def _print_status(rpc_url: str, deployments_dir: Path) -> None:
    from node.chain.client import connect
    from node.chain.deploy import load_deployment
    from node.config import load_settings

    w3 = connect(rpc_url)
    deployment = load_deployment(
        load_settings(rpc_url=rpc_url, deployments_dir=deployments_dir), w3
    )
    typer.echo(f"chain id {deployment.chain_id}, block {w3.eth.block_number}")
    _print_contracts(deployment.contracts)


def _print_contracts(contracts: Mapping[str, ContractRecord]) -> None:
    for name, record in contracts.items():
        typer.echo(f"  {name:<14} {record.address}")
