"""Deployment file: written, checked against chain and build, and rejected when wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.compile import load_artifact
from node.chain.deploy import Deployment, load_deployment, read_deployment
from node.chain.protocol import Protocol
from node.config import Settings
from node.errors import DeploymentError

pytestmark = pytest.mark.chain


def _settings(w3: Web3, deployments_dir: Path) -> Settings:
    return Settings(rpc_url=w3.provider.endpoint_uri, deployments_dir=deployments_dir)  # type: ignore[attr-defined]


def test_deployment_file_matches_chain_and_build(
    w3: Web3, deployment: Deployment, deployments_dir: Path
) -> None:
    data = json.loads((deployments_dir / "31337.json").read_text())
    assert data["chainId"] == 31337
    assert data["deploymentBlock"] == deployment.deployment_block
    assert set(data["contracts"]) == {
        "CrowdToken",
        "StakeRegistry",
        "JobMarket",
        "Attestations",
        "DisputeGame",
        "Jury",
    }
    for name, record in data["contracts"].items():
        assert record["abiHash"] == load_artifact(name).abi_hash
        assert len(w3.eth.get_code(record["address"])) > 0
    assert load_deployment(_settings(w3, deployments_dir), w3) == deployment


def test_contracts_are_wired(owner: Protocol) -> None:
    market, registry = owner.market, owner.registry
    assert registry.is_protocol_contract(market.address)
    assert market.dispute_game() == owner.deployment.address("DisputeGame")
    for name in ("DisputeGame", "Jury"):
        assert registry.is_protocol_contract(owner.deployment.address(name)), name
    assert market.challenge_window() == 120
    assert registry.unbonding_period() == 3600
    assert owner.token.owner() == owner.deployment.deployer


def _tampered(deployments_dir: Path, tmp_path: Path, edit: str) -> Path:
    data = json.loads((deployments_dir / "31337.json").read_text())
    if edit == "abi":
        data["contracts"]["JobMarket"]["abiHash"] = "0x" + "00" * 32
    else:
        data["contracts"]["StakeRegistry"]["address"] = "0x" + "12" * 20
    (tmp_path / "31337.json").write_text(json.dumps(data))
    return tmp_path


@pytest.mark.parametrize(("edit", "message"), [("abi", "another ABI"), ("address", "no code")])
def test_wrong_deployment_is_rejected(
    w3: Web3, deployment: Deployment, deployments_dir: Path, tmp_path: Path, edit: str, message: str
) -> None:
    bad_dir = _tampered(deployments_dir, tmp_path, edit)
    with pytest.raises(DeploymentError, match=message):
        load_deployment(_settings(w3, bad_dir), w3)


def test_missing_deployment_says_what_to_run(w3: Web3, tmp_path: Path) -> None:
    with pytest.raises(
        DeploymentError, match=r"no deployment for chain 31337.*crowdtrain devnet up"
    ):
        read_deployment(tmp_path, 31337)


def test_unbonding_must_outlast_the_slash_horizon() -> None:
    """Otherwise a guilty attester could unstake and withdraw before its fraud is proven."""
    from node.chain.deploy import DeploymentParams
    from node.errors import DeploymentError

    horizon = DeploymentParams().slash_horizon()
    # two jury rounds, each of which may first wait one round's length for enough jurors
    assert horizon == 120 + 60 + 2 * 120 + 4 * (60 + 60)
    with pytest.raises(DeploymentError, match="unbonding period 900 s must exceed 900 s"):
        DeploymentParams(unbonding_period=horizon)
    assert DeploymentParams(unbonding_period=horizon + 1).unbonding_period == horizon + 1
