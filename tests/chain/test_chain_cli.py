"""The chain CLI through real subprocesses: devnet up/status/down (idempotent up), stake, balances,
unstake, withdraw, deploy, and clear one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.chain.anvil import free_port
from node.chain.devnet import dev_account

pytestmark = [pytest.mark.chain, pytest.mark.slow]

CLI = [sys.executable, "-c", "from node.cli.main import main; main()"]
SOLVER_KEY = "0x" + dev_account(2).key.hex().removeprefix("0x")  # Anvil's PUBLIC test key
SOLVER = dev_account(2).address


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("devnet")
    port = free_port()
    env = {
        **os.environ,
        "CROWDTRAIN_DEVNET_DIR": str(home),
        "CROWDTRAIN_DEPLOYMENTS_DIR": str(home / "deployments"),
        "CROWDTRAIN_RPC_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
    }
    env.pop("CROWDTRAIN_PRIVATE_KEY", None)
    try:
        first = run(env, "devnet", "up", "--port", str(port))
        assert first.returncode == 0, first.stderr
        assert "devnet started" in first.stdout and "PUBLIC test keys" in first.stdout
        yield env
    finally:
        run(env, "devnet", "down")


def test_devnet_up_is_idempotent_and_status_reports(devnet: dict[str, str]) -> None:
    again = run(devnet, "devnet", "up", "--port", devnet["PORT"])
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    status = run(devnet, "devnet", "status")
    assert status.returncode == 0, status.stderr
    assert "chain id 31337" in status.stdout and "JobMarket" in status.stdout
    assert (Path(devnet["CROWDTRAIN_DEPLOYMENTS_DIR"]) / "31337.json").exists()


def test_stake_balances_unstake_withdraw(devnet: dict[str, str]) -> None:
    staked = run(devnet, "stake", "250.5", "--private-key", SOLVER_KEY)
    assert staked.returncode == 0, staked.stderr
    assert "staked 250.5 CROWD" in staked.stdout
    assert SOLVER_KEY.removeprefix("0x") not in staked.stdout + staked.stderr

    table = run(devnet, "balances", SOLVER)
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if line.startswith(SOLVER))
    assert row.split()[1:] == ["999749.5", "250.5", "0", "0", "0"]

    unstaked = run(devnet, "unstake", "0.5", "--private-key", SOLVER_KEY)
    assert unstaked.returncode == 0, unstaked.stderr
    early = run(devnet, "withdraw", "--private-key", SOLVER_KEY)
    assert early.returncode == 1 and early.stderr.startswith("error: nothing to withdraw yet")


def test_clear_errors_and_nothing_moves(devnet: dict[str, str]) -> None:
    key = "0x" + dev_account(3).key.hex().removeprefix("0x")
    too_much = run(devnet, "stake", "2000000", "--private-key", key)
    assert too_much.returncode == 1
    assert too_much.stderr.strip().count("\n") == 0 and too_much.stderr.startswith("error: balance")
    bad = run(devnet, "stake", "0.1234567890123456789", "--private-key", key)
    assert bad.returncode == 1 and "more than 18 decimals" in bad.stderr
    free = run(devnet, "unstake", "1", "--private-key", key)
    assert free.returncode == 1 and "free stake" in free.stderr
    table = run(devnet, "balances", dev_account(3).address)
    assert "1000000" in table.stdout.splitlines()[1]

    dead = run(
        {**devnet, "CROWDTRAIN_RPC_URL": f"http://127.0.0.1:{free_port()}"}, "balances", SOLVER
    )
    assert dead.returncode == 1 and dead.stderr.startswith("error: cannot reach the RPC endpoint")
    nokey = run(devnet, "stake", "1")
    assert nokey.returncode == 1 and "no private key" in nokey.stderr


def test_encrypted_keystore_signs_and_bad_ones_fail_clearly(
    devnet: dict[str, str], tmp_path: Path
) -> None:
    account = dev_account(4)
    key = "0x" + account.key.hex().removeprefix("0x")
    store, secret = tmp_path / "k" / "signer.json", tmp_path / "password"
    secret.write_text("correct horse\n")
    env = {**devnet, "CROWDTRAIN_KEYSTORE_PASSWORD_FILE": str(secret)}
    made = run(env, "keys", "import", str(store), "--private-key", key)
    assert made.returncode == 0, made.stderr
    assert account.address in made.stdout and key.removeprefix("0x") not in made.stdout
    assert store.stat().st_mode & 0o777 == 0o600 and key.removeprefix("0x") not in store.read_text()
    again = run(env, "keys", "import", str(store), "--private-key", key)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert run(devnet, "keys", "address", str(store)).stdout.strip() == account.address

    signing = {**env, "CROWDTRAIN_KEYSTORE": str(store)}
    staked = run(signing, "stake", "3")
    assert staked.returncode == 0, staked.stderr
    assert key.removeprefix("0x") not in staked.stdout + staked.stderr
    row = next(
        line
        for line in run(devnet, "balances", account.address).stdout.splitlines()
        if line.startswith(account.address)
    )
    assert row.split()[2] == "3"

    wrong = run({**signing, "CROWDTRAIN_KEYSTORE_PASSWORD": "nope"}, "stake", "1")
    assert wrong.returncode == 1 and "wrong password" in wrong.stderr and str(store) in wrong.stderr
    nopass = {k: v for k, v in signing.items() if k != "CROWDTRAIN_KEYSTORE_PASSWORD_FILE"}
    missing = run(nopass, "stake", "1")
    assert missing.returncode == 1 and "needs a password" in missing.stderr
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    broken = run({**signing, "CROWDTRAIN_KEYSTORE": str(corrupt)}, "stake", "1")
    assert broken.returncode == 1 and "not a JSON keystore" in broken.stderr
    row = next(
        line
        for line in run(devnet, "balances", account.address).stdout.splitlines()
        if line.startswith(account.address)
    )
    assert row.split()[2] == "3"  # none of the failed commands moved a token


def test_deploy_refuses_to_redeploy_without_force(devnet: dict[str, str], tmp_path: Path) -> None:
    key = "0x" + dev_account(0).key.hex().removeprefix("0x")
    same = run(devnet, "deploy", "--private-key", key)
    assert same.returncode == 0 and "already has a valid deployment" in same.stdout
    fresh = run(
        {**devnet, "CROWDTRAIN_DEPLOYMENTS_DIR": str(tmp_path)}, "deploy", "--private-key", key
    )
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "31337.json").exists()
    # issue 11: the registry is renounced; only the devnet faucet (chain id 31337) is left
    powers = next(line for line in fresh.stdout.splitlines() if line.startswith("owner powers"))
    assert powers == (
        f"owner powers left: CrowdToken.mint by {dev_account(0).address}: "
        "the devnet faucet (chain id 31337 only)"
    )


def test_devnet_down_then_status_fails(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CROWDTRAIN_DEVNET_DIR": str(tmp_path),
        "CROWDTRAIN_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
    }
    assert run(env, "devnet", "up", "--port", str(port)).returncode == 0
    down = run(env, "devnet", "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not (tmp_path / "deployments" / "31337.json").exists()
    status = run(env, "devnet", "status")
    assert status.returncode == 1 and "not running" in status.stderr
