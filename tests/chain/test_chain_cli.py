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

CLI = [sys.executable, "-c", "from cli.main import main; main()"]
SOLVER_KEY = "0x" + dev_account(2).key.hex().removeprefix("0x")  # Anvil's PUBLIC test key
SOLVER = dev_account(2).address


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def with_key(env: dict[str, str], key: str) -> dict[str, str]:
    """``env`` signing with ``key``: keys travel in the environment, never in argv."""
    return {**env, "CROWDTRAIN_PRIVATE_KEY": key}


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
    staked = run(with_key(devnet, SOLVER_KEY), "stake", "250.5")
    assert staked.returncode == 0, staked.stderr
    assert "staked 250.5 CROWD" in staked.stdout
    assert SOLVER_KEY.removeprefix("0x") not in staked.stdout + staked.stderr

    table = run(devnet, "balances", SOLVER)
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if line.startswith(SOLVER))
    assert row.split()[1:] == ["999749.5", "250.5", "0", "0", "0"]

    unstaked = run(with_key(devnet, SOLVER_KEY), "unstake", "0.5")
    assert unstaked.returncode == 0, unstaked.stderr
    early = run(with_key(devnet, SOLVER_KEY), "withdraw")
    assert early.returncode == 1 and early.stderr.startswith("error: nothing to withdraw yet")


def test_clear_errors_and_nothing_moves(devnet: dict[str, str]) -> None:
    key = "0x" + dev_account(3).key.hex().removeprefix("0x")
    too_much = run(with_key(devnet, key), "stake", "2000000")
    assert too_much.returncode == 1
    assert too_much.stderr.strip().count("\n") == 0 and too_much.stderr.startswith("error: balance")
    bad = run(with_key(devnet, key), "stake", "0.1234567890123456789")
    assert bad.returncode == 1 and "more than 18 decimals" in bad.stderr
    free = run(with_key(devnet, key), "unstake", "1")
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
    made = run(with_key(env, key), "keys", "import", str(store))
    assert made.returncode == 0, made.stderr
    assert account.address in made.stdout and key.removeprefix("0x") not in made.stdout
    assert store.stat().st_mode & 0o777 == 0o600 and key.removeprefix("0x") not in store.read_text()
    again = run(with_key(env, key), "keys", "import", str(store))
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
    same = run(with_key(devnet, key), "deploy")
    assert same.returncode == 0 and "already has a valid deployment" in same.stdout
    fresh = run(with_key({**devnet, "CROWDTRAIN_DEPLOYMENTS_DIR": str(tmp_path)}, key), "deploy")
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "31337.json").exists()
    assert key.removeprefix("0x") not in fresh.stdout + fresh.stderr
    # issue 11: the registry is renounced; only the devnet faucet (chain id 31337) is left
    powers = next(line for line in fresh.stdout.splitlines() if line.startswith("owner powers"))
    assert powers == (
        f"owner powers left: CrowdToken.mint by {dev_account(0).address}: "
        "the devnet faucet (chain id 31337 only)"
    )


@pytest.mark.parametrize("command", [["deploy", "--force"], ["stake", "1"], ["balances"]])
def test_a_key_on_the_command_line_is_refused_and_nothing_moves(
    devnet: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    """argv shows in `ps` and shell history: a key there is refused before anything runs, and the
    refusal does not echo it."""
    key = "0x" + dev_account(5).key.hex().removeprefix("0x")
    env = {**devnet, "CROWDTRAIN_DEPLOYMENTS_DIR": str(tmp_path / "deployments")}
    refused = run(env, *command, "--private-key", key)
    assert refused.returncode == 1
    assert (
        refused.stderr.startswith("error: --private-key is refused")
        and refused.stderr.count("\n") == 1
    )
    assert "CROWDTRAIN_KEYSTORE" in refused.stderr
    assert key.removeprefix("0x") not in refused.stdout + refused.stderr
    assert not (tmp_path / "deployments").exists()  # no deployment written
    row = next(
        line
        for line in run(devnet, "balances", dev_account(5).address).stdout.splitlines()
        if line.startswith(dev_account(5).address)
    )
    assert row.split()[1:3] == ["1000000", "0"]  # no token moved, nothing staked
    assert "--private-key" not in run(env, *command[:1], "--help").stdout


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


def test_bad_settings_fail_in_one_line_without_echoing_the_key(tmp_path: Path) -> None:
    secret = "0x" + "zq" * 32  # malformed, so it reaches the key parser's error path
    env = {
        **os.environ,
        "CROWDTRAIN_PRIVATE_KEY": secret,
        "CROWDTRAIN_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "CROWDTRAIN_RPC_URL": f"http://127.0.0.1:{free_port()}",
    }
    bad_key = run(env, "deploy")
    assert bad_key.returncode == 1
    assert bad_key.stderr == "error: the private key is not a valid 32-byte hex key\n"
    bad_settings = run(
        {**env, "CROWDTRAIN_RPC_URL": "ftp://x", "CROWDTRAIN_THREADS": "many"}, "deploy"
    )
    assert bad_settings.returncode == 1 and bad_settings.stderr.count("\n") == 1
    assert bad_settings.stderr.startswith(
        "error: invalid setting: CROWDTRAIN_RPC_URL: RPC URL must"
    )
    assert "CROWDTRAIN_THREADS: Input should be a valid integer" in bad_settings.stderr
    for out in (bad_key, bad_settings):
        assert "zq" * 32 not in out.stdout + out.stderr
    assert not (tmp_path / "deployments").exists()
