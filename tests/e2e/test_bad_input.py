"""Bad input gets one clear `error:` line naming the problem, exit code 1, and moves no token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from market_kit import REPO, Market
from web3 import Web3

pytestmark = [pytest.mark.chain]

EXAMPLE = json.loads((REPO / "examples/specs/mlp_digits.json").read_text())


def _spec_file(tmp_path: Path, name: str, **changes: object) -> Path:
    spec = json.loads(json.dumps(EXAMPLE))
    for dotted, value in changes.items():
        node, *path = spec, *dotted.split("__")
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    path_ = tmp_path / f"{name}.json"
    path_.write_text(json.dumps(spec))
    return path_


def _snapshot(market: Market) -> tuple[int, int, int, int]:
    p = market.deployer
    return (
        p.token.balance_of(market.submitter.address),
        p.token.balance_of(market.solver.address),
        p.market.total_liabilities(),
        p.registry.total_staked(),
    )


def _fails(market: Market, account: object, *args: str, needle: str) -> str:
    before = _snapshot(market)
    done = market.cli(account, *args, check=False)  # type: ignore[arg-type]
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error:"), done.stderr
    assert "Traceback" not in done.stderr
    assert needle.lower() in done.stderr.lower(), done.stderr
    assert _snapshot(market) == before, "a token moved"
    return done.stderr


@pytest.fixture
def prepared(market: Market) -> Market:
    market.cli(market.submitter, "data", "prepare", "digits")
    return market


@pytest.mark.parametrize(
    ("name", "changes", "needle"),
    [
        ("unknown_architecture", {"model__architecture": "transformer-xl"}, "architecture"),
        ("steps_not_multiple", {"steps": 205}, "steps"),
        ("k_below_two", {"checkpoint_every": 1, "steps": 10}, "checkpoint_every"),
        ("negative_lr", {"optimizer__lr": -0.1}, "lr"),
        ("native_runtime", {"runtime": "native"}, "repro-v1"),
        ("missing_dataset", {"dataset__address": "sha256:" + "ab" * 32}, "dataset"),
    ],
)
def test_submit_rejects_a_bad_spec(
    prepared: Market, tmp_path: Path, name: str, changes: dict[str, object], needle: str
) -> None:
    spec = _spec_file(tmp_path, name, **changes)
    _fails(
        prepared, prepared.submitter, "job", "submit", str(spec), "--reward", "10", needle=needle
    )


def test_submit_rejects_malformed_spec_text(prepared: Market, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"model": {"architecture": "mlp",')
    _fails(
        prepared, prepared.submitter, "job", "submit", str(broken), "--reward", "10", needle="spec"
    )


def test_submit_rejects_zero_reward(prepared: Market) -> None:
    spec = str(REPO / "examples/specs/mlp_digits.json")
    _fails(prepared, prepared.submitter, "job", "submit", spec, "--reward", "0", needle="reward")


def test_submit_rejects_too_little_allowance(prepared: Market) -> None:
    spec = str(REPO / "examples/specs/mlp_digits.json")
    _fails(
        prepared,
        prepared.submitter,
        "job",
        "submit",
        spec,
        "--reward",
        "10",
        "--no-approve",
        needle="allowance",
    )


def test_submit_rejects_too_little_balance(prepared: Market, dev_accounts: list) -> None:
    spec = str(REPO / "examples/specs/mlp_digits.json")
    _fails(prepared, dev_accounts[7], "job", "submit", spec, "--reward", "10", needle="balance")


def test_submit_rejects_solve_timeout_out_of_range(prepared: Market) -> None:
    spec = str(REPO / "examples/specs/mlp_digits.json")
    _fails(
        prepared,
        prepared.submitter,
        "job",
        "submit",
        spec,
        "--reward",
        "10",
        "--solve-timeout",
        "5",
        needle="JobMarketInvalidSolveTimeout",
    )
    assert (
        prepared.deployer.token.allowance(
            prepared.submitter.address, prepared.deployer.market.address
        )
        == 0
    ), "approved anyway"


def test_stake_and_unstake_reject_too_little(market: Market) -> None:
    _fails(market, market.solver, "stake", "20000", needle="balance")
    market.cli(market.solver, "stake", "50")
    _fails(market, market.solver, "unstake", "60", needle="free stake")


def test_unknown_job_id(market: Market) -> None:
    _fails(market, None, "job", "status", "999", needle="999")
    _fails(market, market.submitter, "job", "cancel", "999", needle="999")


def test_unreachable_rpc(market: Market) -> None:
    done = market.cli(market.submitter, "balances", "--rpc-url", "http://127.0.0.1:9", check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("error:") and "127.0.0.1:9" in done.stderr
    assert "unreachable" in done.stderr.lower()


def test_cancel_of_someone_elses_job(prepared: Market) -> None:
    spec = str(REPO / "examples/specs/mlp_digits.json")
    prepared.cli(prepared.submitter, "job", "submit", spec, "--reward", "10")
    _fails(prepared, prepared.solver, "job", "cancel", "1", needle="submitted by")
    assert Web3.is_address(prepared.deployer.market.get_job(1).submitter)
