"""Chain commands: ``crowdtrain deploy``, ``stake``, ``unstake``, ``withdraw``, ``balances``.

Every command takes ``--rpc-url`` (or ``CROWDTRAIN_RPC_URL``) and signs with the key from the
environment: an encrypted keystore (``CROWDTRAIN_KEYSTORE``, see ``crowdtrain keys``) or
``CROWDTRAIN_PRIVATE_KEY``. A key is never an argument: argv shows in ``ps`` to every user of the
machine and lands in shell history, so ``--private-key`` is refused before anything runs. Amounts are CROWD with up to 18 decimals (``250``, ``0.5``), parsed
exactly. Failures that the user can fix print one ``error: …`` line and exit 1, before any token moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

from node.errors import CommandError

if TYPE_CHECKING:
    from node.chain.protocol import Protocol
    from node.chain.types import Wei

RpcUrlOption = typer.Option(None, "--rpc-url", help="JSON-RPC URL (env CROWDTRAIN_RPC_URL).")


def _refuse_key_argument(value: str | None) -> None:
    """A key typed on the command line has leaked already (``ps``, shell history): say so and stop,
    without echoing it, before any command runs."""
    if value is not None:
        raise CommandError(
            "--private-key is refused: a key on the command line shows in `ps` and shell history; "
            "set CROWDTRAIN_KEYSTORE (see `crowdtrain keys`) or CROWDTRAIN_PRIVATE_KEY instead"
        )


PrivateKeyOption = typer.Option(None, "--private-key", hidden=True, callback=_refuse_key_argument)
"""Parsed only to be refused with the message above: the commands always receive None and sign
with the key from the environment (``load_settings``)."""


def fail(message: str) -> NoReturn:
    """One ``error: …`` line on stderr, exit code 1 (printed by ``cli.main``)."""
    raise CommandError(message)


def parse_amount(text: str, what: str = "amount", *, allow_zero: bool = False) -> Wei:
    """CROWD text → wei, exactly; a bad amount fails with one clear line naming ``what``."""
    from node.chain.units import parse_crowd

    try:
        return parse_crowd(text, allow_zero=allow_zero)
    except ValueError as err:
        fail(f"invalid {what}: {err}")


def open_protocol(rpc_url: str | None, private_key: str | None, *, signer: bool = True) -> Protocol:
    """The checked deployment on the configured RPC, signing with the configured key."""
    from node.chain.protocol import Protocol
    from node.config import load_settings

    settings = load_settings(rpc_url=rpc_url, private_key=private_key)
    if signer:
        settings.require_private_key()
    return Protocol.connect(settings, signer=signer)


def _crowd(wei: int) -> str:
    from node.chain.units import format_crowd

    return f"{format_crowd(wei)} CROWD"


def deploy(
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
    dispute_game: str | None = typer.Option(
        None, help="Dispute game address (default: the deployer, until DisputeGame exists)."
    ),
    challenge_window: int = typer.Option(120, help="Challenge window, seconds."),
    unbonding_period: int = typer.Option(3600, help="Unbonding period, seconds."),
    min_solver_stake: str = typer.Option("100", help="Minimum solver lock, CROWD."),
    initial_supply: str | None = typer.Option(
        None, help="CROWD minted to the deployer: the fixed supply (required off the devnet)."
    ),
    force: bool = typer.Option(False, help="Deploy even if a valid deployment exists."),
) -> None:
    """Deploy CrowdToken, StakeRegistry and JobMarket to any EVM chain; write deployments/<chainId>.json."""
    from node.chain.client import connect
    from node.chain.deploy import (
        DeploymentParams,
        deploy_protocol,
        load_deployment,
        remaining_powers,
        write_deployment,
    )
    from node.chain.protocol import account_from_key
    from node.chain.reverts import project_decoder
    from node.chain.tx import TxSender
    from node.chain.units import parse_crowd
    from node.config import load_settings
    from node.errors import DeploymentError

    settings = load_settings(rpc_url=rpc_url, private_key=private_key)
    account = account_from_key(settings.require_private_key())
    w3 = connect(settings.rpc_url)
    if not force:
        try:
            existing = load_deployment(settings, w3)
        except DeploymentError:
            pass
        else:
            typer.echo(
                f"chain {existing.chain_id} already has a valid deployment (use --force to redeploy):"
            )
            for name, record in existing.contracts.items():
                typer.echo(f"  {name:<14} {record.address}")
            _echo_powers(remaining_powers(w3, existing))
            return
    params = DeploymentParams(
        challenge_window=challenge_window,
        unbonding_period=unbonding_period,
        min_solver_stake=parse_crowd(min_solver_stake),
        dispute_game=dispute_game,
        initial_supply=parse_crowd(initial_supply) if initial_supply is not None else 0,
    )
    deployment = deploy_protocol(TxSender(w3, account, project_decoder()), params)
    path = write_deployment(deployment, settings.deployments_dir)
    typer.echo(f"deployed to chain {deployment.chain_id} at block {deployment.deployment_block}:")
    for name, record in deployment.contracts.items():
        typer.echo(f"  {name:<14} {record.address}")
    typer.echo(f"wrote {path}")
    _echo_powers(remaining_powers(w3, deployment))


def _echo_powers(powers: list[str]) -> None:
    """What the deployer (or anyone) can still change after the deployment; the goal is none."""
    typer.echo("owner powers left: " + ("none" if not powers else "; ".join(powers)))


def stake(
    amount: str = typer.Argument(..., help="CROWD to stake, e.g. 250 or 0.5."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Approve the StakeRegistry (if needed) and stake AMOUNT CROWD."""
    wei = parse_amount(amount)
    protocol = open_protocol(rpc_url, private_key)
    balance = protocol.token.balance_of(protocol.address)
    if balance < wei:
        fail(f"balance of {protocol.address} is {_crowd(balance)}, less than {_crowd(wei)}")
    staked = protocol.stake(wei)
    typer.echo(f"staked {_crowd(staked.amount)}; total stake {_crowd(staked.total_staked)}")


def unstake(
    amount: str = typer.Argument(..., help="CROWD to move to unbonding."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Request to unstake AMOUNT CROWD of free stake; withdraw it after the unbonding period."""
    from node.chain.adapter import first_event
    from node.chain.events import UnstakeRequested

    wei = parse_amount(amount)
    protocol = open_protocol(rpc_url, private_key)
    free = protocol.registry.free_stake_of(protocol.address)
    if free < wei:
        fail(f"free stake of {protocol.address} is {_crowd(free)}, less than {_crowd(wei)}")
    sent = protocol.registry.request_unstake(wei)
    event = first_event(protocol.registry.events_in(sent.receipt), UnstakeRequested)
    typer.echo(
        f"unbonding {_crowd(event.amount)}; withdraw with `crowdtrain withdraw` "
        f"after chain time {event.release_time}"
    )


def withdraw(
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Withdraw JobMarket credit (single jobs and rounds jobs alike: RoundsMarket holds no tokens)
    and released unbonding stake, whichever is non-zero."""
    from node.chain.client import chain_time

    protocol = open_protocol(rpc_url, private_key)
    me = protocol.address
    credit = protocol.market.credit_of(me)
    info = protocol.registry.stake_of(me)
    now = chain_time(protocol.w3)
    released = info.unbonding > 0 and info.unbonding_release_time <= now
    if credit == 0 and not released:
        if info.unbonding > 0:
            wait = info.unbonding_release_time - now
            fail(
                f"nothing to withdraw yet: {_crowd(info.unbonding)} unbonding, released in {wait} s"
            )
        fail(f"nothing to withdraw for {me}")
    if credit > 0:
        done = protocol.market.withdraw()
        typer.echo(f"withdrew {_crowd(done.amount)} of JobMarket credit")
    if released:
        protocol.registry.withdraw()
        typer.echo(f"withdrew {_crowd(info.unbonding)} of released stake")


def balances(
    addresses: list[str] | None = typer.Argument(None, help="Accounts (default: your own)."),
    rpc_url: str | None = RpcUrlOption,
    private_key: str | None = PrivateKeyOption,
) -> None:
    """Token balance, stake, locked, unbonding and JobMarket credit of each account."""
    from web3 import Web3

    from node.chain.units import format_crowd

    protocol = open_protocol(rpc_url, private_key, signer=not addresses)
    targets = addresses or [protocol.address]
    for text in targets:
        if not Web3.is_address(text):
            fail(f"not an address: {text!r}")
    header = ("address", "CROWD", "staked", "locked", "unbonding", "credit")
    rows = [header]
    for text in targets:
        address = Web3.to_checksum_address(text)
        info = protocol.registry.stake_of(address)
        rows.append(
            (
                address,
                format_crowd(protocol.token.balance_of(address)),
                format_crowd(info.staked),
                format_crowd(info.locked),
                format_crowd(info.unbonding),
                format_crowd(protocol.market.credit_of(address)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        typer.echo(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("deploy")(deploy)
    app.command("stake")(stake)
    app.command("unstake")(unstake)
    app.command("withdraw")(withdraw)
    app.command("balances")(balances)
