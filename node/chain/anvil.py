"""Start and stop a local Anvil node from the npm install (docs/PROTOCOL.md §3).

Used by ``crowdtrain devnet`` and by the test suite (one Anvil per test session).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from node.errors import ChainError

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL_BIN = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_binary() -> Path:
    """The Anvil binary that npm installed for this platform."""
    base = REPO_ROOT / "node_modules" / "@foundry-rs"
    for candidate in sorted(base.glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    launcher = REPO_ROOT / "node_modules" / ".bin" / "anvil"
    if launcher.exists():
        return launcher
    raise ChainError("Anvil is not installed: run `make setup` (npm ci) first")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_ready(url: str, timeout: float = 0.5) -> bool:
    try:
        response = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            timeout=timeout,
        )
        return response.ok and "result" in response.json()
    except (requests.RequestException, ValueError):
        return False


@dataclass
class AnvilProcess:
    """A running Anvil; ``stop`` ends it (tests call it in ``finally``)."""

    process: subprocess.Popen[bytes]
    port: int
    command: tuple[str, ...] = ()
    state_file: Path | None = None
    log_file: Path | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def relaunch(self, *, ready_timeout: float = 30.0) -> None:
        """Start this Anvil again after ``stop`` on the same port from the state it dumped on
        exit (``--state``): the RPC endpoint comes back with every mined block, without the
        pending pool (which a real node may lose too).

        Anvil does not persist the offset of ``evm_increaseTime``, so a reloaded chain's next
        block would be stamped earlier than its last one; the clock is set back to where the
        chain was, as on a real chain whose time never runs backwards.
        """
        if self.state_file is None:
            raise ChainError("relaunch needs an Anvil started with a state file")
        if self.process.poll() is None:
            raise ChainError("relaunch: this Anvil is still running (stop it first)")
        dumped = json.loads(self.state_file.read_text())
        last_timestamp = int(dumped["block"]["timestamp"], 16)
        # Mining stays off until the clock is set: a client that resends a transaction the moment
        # the port answers must not get it mined in a block stamped before the chain's last one.
        command, block_time = _without_block_time(self.command)
        self.process = _launch([*command, "--no-mining"], self.log_file)
        _wait_ready(self, ready_timeout)
        self._rpc("evm_setTime", [last_timestamp + 1])
        if block_time is None:
            self._rpc("evm_setAutomine", [True])
            self._rpc("evm_mine", [])  # what arrived while mining was off
        else:
            self._rpc("evm_setIntervalMining", [block_time])

    def _rpc(self, method: str, params: list[int | bool]) -> None:
        response = requests.post(
            self.rpc_url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            timeout=10,
        )
        if "error" in response.json():
            raise ChainError(f"{method} after relaunch failed: {response.json()['error']}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _without_block_time(command: Sequence[str]) -> tuple[list[str], int | None]:
    """``command`` without its ``--block-time N`` (which ``--no-mining`` excludes), and N."""
    out, block_time = list(command), None
    if "--block-time" in out:
        at = out.index("--block-time")
        block_time = int(out[at + 1])
        del out[at : at + 2]
    return out, block_time


def start_anvil(
    *,
    port: int | None = None,
    block_time: int | None = None,
    chain_id: int = 31337,
    accounts: int = 20,
    balance_eth: int = 10_000,
    state_file: Path | None = None,
    log_file: Path | None = None,
    ready_timeout: float = 30.0,
    extra_args: Sequence[str] = (),
) -> AnvilProcess:
    """Start Anvil and wait until it answers JSON-RPC.

    ``block_time=None`` mines on demand (tests move time explicitly with ``evm_mine``);
    the devnet uses ``--block-time 1`` so seeds and deadlines keep moving.
    """
    port = port or free_port()
    cmd = [
        str(anvil_binary()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(chain_id),
        "--accounts",
        str(accounts),
        "--balance",
        str(balance_eth),
        "--mnemonic",
        DEV_MNEMONIC,
    ]
    if block_time:
        cmd += ["--block-time", str(block_time)]
    if state_file is not None:
        cmd += ["--state", str(state_file)]
    cmd += list(extra_args)
    anvil = AnvilProcess(
        _launch(cmd, log_file), port, tuple(cmd), state_file=state_file, log_file=log_file
    )
    _wait_ready(anvil, ready_timeout)
    return anvil


def _launch(cmd: list[str], log_file: Path | None) -> subprocess.Popen[bytes]:
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(anvil: AnvilProcess, ready_timeout: float) -> None:
    process = anvil.process
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChainError(f"Anvil exited with code {process.returncode} before it was ready")
        if rpc_ready(anvil.rpc_url):
            return
        time.sleep(0.05)
    anvil.stop()
    raise ChainError(f"Anvil did not answer on {anvil.rpc_url} within {ready_timeout:.0f} s")
