"""A deployed marketplace on the session Anvil, and helpers to drive the real `crowdtrain` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.anvil import AnvilProcess, free_port
from node.chain.deploy import DeploymentParams, deploy_protocol, load_deployment, write_deployment
from node.chain.devnet import dev_account
from node.chain.protocol import Protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from node.config import Settings

CROWD = 10**18
REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "cli.main"]


@dataclass
class Market:
    """One deployment with a funded submitter and solver, and an isolated home for each CLI user."""

    w3: Web3
    rpc_url: str
    root: Path
    deployer: Protocol
    submitter: LocalAccount
    solver: LocalAccount

    def env(self, account: LocalAccount | None, **extra: str) -> dict[str, str]:
        return cli_env(self.root, self.rpc_url, account, **extra)

    def cli(
        self, account: LocalAccount | None, *args: str, check: bool = True, cwd: Path = REPO
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env(account), *args, check=check, cwd=cwd)

    def spawn(
        self, account: LocalAccount, *args: str, log: Path, cwd: Path = REPO, **extra_env: str
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*CLI, *args],
            env=self.env(account, **extra_env),
            cwd=cwd,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def as_(self, account: LocalAccount) -> Protocol:
        return self.deployer.as_account(account)

    def advance(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def cli_env(root: Path, rpc_url: str, account: LocalAccount | None, **extra: str) -> dict[str, str]:
    """A CLI user's environment: only this market's ``CROWDTRAIN_*`` settings (folders under
    ``root``), the key through the environment as the README says, this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDTRAIN_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])]),
        CROWDTRAIN_RPC_URL=rpc_url,
        CROWDTRAIN_DEPLOYMENTS_DIR=str(root / "deployments"),
        CROWDTRAIN_BLOB_DIR=str(root / "blobs"),
        CROWDTRAIN_DATA_DIR=str(root / "data"),
        CROWDTRAIN_DEVNET_DIR=str(root / "devnet"),
        CROWDTRAIN_THREADS="1",
        CROWDTRAIN_POLL_INTERVAL="0.2",
    )
    if account is not None:
        env["CROWDTRAIN_PRIVATE_KEY"] = account.key.hex()
    env.update(extra)
    return env


def run_cli(
    env: dict[str, str], *args: str, check: bool = True, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """``crowdtrain ARGS`` as a subprocess; with ``check``, a failure shows its output."""
    done = subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    if check and done.returncode != 0:
        raise AssertionError(f"crowdtrain {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@contextmanager
def devnet_market(root: Path, *up_options: str) -> Iterator[Market]:
    """A devnet started the way a user starts it (``crowdtrain devnet up UP_OPTIONS`` on a free
    port, Anvil mining a block a second) and stopped with ``devnet down``; dev account 1 is the
    submitter, 2 the solver (the README's keys)."""
    port = free_port()
    rpc_url = f"http://127.0.0.1:{port}"
    env = cli_env(root, rpc_url, None)
    run_cli(env, "devnet", "up", "--port", str(port), *up_options)
    try:
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
        settings = Settings(rpc_url=rpc_url, deployments_dir=root / "deployments")
        deployer = Protocol.from_deployment(w3, load_deployment(settings, w3), dev_account(0))
        yield Market(w3, rpc_url, root, deployer, dev_account(1), dev_account(2))
    finally:
        run_cli(env, "devnet", "down")


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll an observable condition (not a timer standing in for one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None and not predicate():
            raise AssertionError(f"process exited with {proc.returncode} before: {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {what}")


def deploy_market(w3: Web3, rpc_url: str, dev_accounts: list[LocalAccount], root: Path) -> Market:
    """Deploy the protocol on ``w3`` (``root/deployments``) and fund the submitter and solver."""
    deployer_account, submitter, solver = dev_accounts[0], dev_accounts[1], dev_accounts[2]
    sender = TxSender(w3, deployer_account, project_decoder())
    deployment = deploy_protocol(sender, DeploymentParams())
    write_deployment(deployment, root / "deployments")
    deployer = Protocol.from_deployment(w3, deployment, deployer_account)
    for account in (submitter, solver):
        deployer.token.mint(account.address, 10_000 * CROWD)
    return Market(w3, rpc_url, root, deployer, submitter, solver)


@pytest.fixture
def market(
    chain: Web3, anvil: AnvilProcess, dev_accounts: list[LocalAccount], tmp_path: Path
) -> Iterator[Market]:
    yield deploy_market(chain, anvil.rpc_url, dev_accounts, tmp_path)


def json_line(text: str) -> dict[str, object]:
    """The JSON object on the last non-empty line of a command's output."""
    line = [ln for ln in text.splitlines() if ln.strip()][-1]
    data = json.loads(line)
    assert isinstance(data, dict)
    return data


def submit_example(market: Market, spec: str, *options: str) -> int:
    """Post ``examples/specs/<spec>.json`` as the submitter through the CLI; the new job id."""
    out = market.cli(
        market.submitter,
        "job",
        "submit",
        str(REPO / "examples" / "specs" / f"{spec}.json"),
        *options,
        "--json",
    ).stdout
    return int(json_line(out)["job_id"])  # type: ignore[arg-type]


def wait_for_status(
    market: Market,
    job_id: int,
    status: object,
    proc: subprocess.Popen[bytes],
    *,
    timeout: float = 300,
) -> None:
    """Wait until the job reaches ``status`` on-chain, failing early if ``proc`` dies."""
    wait_until(
        lambda: market.deployer.market.get_job(job_id).status is status,
        timeout=timeout,
        what=f"job {job_id} to become {status}",
        proc=proc,
    )
