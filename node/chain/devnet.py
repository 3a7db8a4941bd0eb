"""The local devnet behind ``crowdtrain devnet up|down|status`` (docs/PROTOCOL.md §3).

``up`` starts a detached Anvil (a block every second, its state dumped to the devnet folder so a
restart keeps the chain), deploys the protocol, and funds the dev accounts. It is idempotent: a
running, deployed devnet is left alone; a stale pid file means a restart. The folder is
``--home``, else ``CROWDTRAIN_DEVNET_DIR``, else ``~/.crowdtrain/devnet``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.anvil import DEV_MNEMONIC, rpc_ready, start_anvil
from node.chain.client import connect, rpc
from node.chain.deploy import (
    Deployment,
    DeploymentParams,
    deploy_protocol,
    deployment_path,
    load_deployment,
    write_deployment,
)
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.chain.units import CROWD
from node.config import DEFAULT_HOME, Settings
from node.errors import ChainError, DeploymentError

DEFAULT_PORT = 8545
DEV_ACCOUNTS = 10
FAUCET_AMOUNT = 1_000_000 * CROWD
BLOCK_TIME_S = 1


def devnet_home(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get("CROWDTRAIN_DEVNET_DIR")
    return Path(env) if env else DEFAULT_HOME / "devnet"


def dev_account(index: int) -> LocalAccount:
    """Anvil's well-known dev account ``index`` (PUBLIC test keys: never use them on a real chain)."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


@dataclass(frozen=True)
class DevnetInfo:
    """What ``up`` wrote to ``devnet.json``: enough for ``status`` and ``down`` to find it again."""

    pid: int
    port: int
    rpc_url: str
    deployment_file: str | None = None


@dataclass(frozen=True)
class DevnetUp:
    info: DevnetInfo
    deployment: Deployment
    started: bool
    """False when a running devnet was found."""
    deployed: bool
    """False when a valid deployment was found."""


class DevnetFiles:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.info = home / "devnet.json"
        self.log = home / "anvil.log"
        self.state = home / "state.json"

    def read(self) -> DevnetInfo | None:
        try:
            return DevnetInfo(**json.loads(self.info.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, info: DevnetInfo) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.info.write_text(json.dumps(asdict(info), indent=2) + "\n")


def _is_anvil(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid
    return b"anvil" in cmdline


def running_devnet(home: Path) -> DevnetInfo | None:
    """The devnet recorded in ``home`` if its Anvil is alive and answering, else None."""
    info = DevnetFiles(home).read()
    if info is None or not _is_anvil(info.pid) or not rpc_ready(info.rpc_url, timeout=2.0):
        return None
    return info


def devnet_up(
    home: Path,
    *,
    port: int = DEFAULT_PORT,
    deployments_dir: Path,
    accounts: int = DEV_ACCOUNTS,
    params: DeploymentParams | None = None,
) -> DevnetUp:
    """Start (if needed), deploy (if needed) and fund the devnet."""
    files = DevnetFiles(home)
    info = running_devnet(home)
    started = info is None
    if info is None:
        stale = files.read()
        if stale is not None and _is_anvil(stale.pid):
            _stop(stale.pid)  # alive but not answering: replace it
        files.home.mkdir(parents=True, exist_ok=True)
        try:
            # Mine on demand while deploying (seconds instead of one block per transaction),
            # then switch to interval mining: the devnet runs at ``--block-time 1``.
            anvil = start_anvil(port=port, state_file=files.state, log_file=files.log)
        except ChainError as err:
            raise ChainError(
                f"{err} (is port {port} in use? try --port; log: {files.log})"
            ) from err
        info = DevnetInfo(pid=anvil.process.pid, port=anvil.port, rpc_url=anvil.rpc_url)
        files.write(info)

    w3 = connect(info.rpc_url)
    settings = Settings(rpc_url=info.rpc_url, deployments_dir=deployments_dir)
    deployed = False
    try:
        deployment = load_deployment(settings, w3)
    except DeploymentError:
        deployment = _deploy_and_fund(w3, accounts, params or DeploymentParams())
        write_deployment(deployment, deployments_dir)
        deployed = True
    finally:
        if started:
            rpc(w3, "evm_setIntervalMining", BLOCK_TIME_S)
    path = str(deployment_path(deployments_dir, deployment.chain_id))
    if info.deployment_file != path:
        info = DevnetInfo(info.pid, info.port, info.rpc_url, path)
        files.write(info)
    return DevnetUp(info=info, deployment=deployment, started=started, deployed=deployed)


def _deploy_and_fund(w3: Web3, accounts: int, params: DeploymentParams) -> Deployment:
    decoder = project_decoder()
    owner = dev_account(0)
    deployment = deploy_protocol(TxSender(w3, owner, decoder), params)
    protocol = Protocol.from_deployment(w3, deployment, owner, decoder=decoder)
    for index in range(accounts):
        protocol.token.mint(dev_account(index).address, FAUCET_AMOUNT)
    return deployment


def devnet_down(home: Path) -> DevnetInfo | None:
    """Stop the devnet's Anvil and remove its state and deployment file; None if none was known."""
    files = DevnetFiles(home)
    info = files.read()
    if info is not None and _is_anvil(info.pid):
        _stop(info.pid)
    if info is not None and info.deployment_file:
        Path(info.deployment_file).unlink(missing_ok=True)
    for path in (files.info, files.state):
        path.unlink(missing_ok=True)
    return info


def _stop(pid: int, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        # reap it if it is our child (tests), otherwise just probe
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"
