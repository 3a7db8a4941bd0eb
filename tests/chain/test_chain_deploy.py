"""Deployment file: written, checked against chain and build, and rejected when wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from node.chain.anvil import start_anvil
from node.chain.compile import load_artifact
from node.chain.deploy import Deployment, load_deployment, read_deployment
from node.chain.devnet import dev_account
from node.chain.protocol import Protocol
from node.chain.reverts import RevertDecoder
from node.chain.token import CrowdTokenAdapter
from node.chain.tx import TxSender
from node.chain.units import CROWD
from node.config import Settings
from node.errors import ChainError, DeploymentError

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
        "RoundsMarket",
    }
    for name, record in data["contracts"].items():
        assert record["abiHash"] == load_artifact(name).abi_hash
        assert len(w3.eth.get_code(record["address"])) > 0
    assert load_deployment(_settings(w3, deployments_dir), w3) == deployment


def test_contracts_are_wired(owner: Protocol) -> None:
    market, registry = owner.market, owner.registry
    assert registry.is_protocol_contract(market.address)
    assert market.dispute_game() == owner.deployment.address("DisputeGame")
    for name in ("DisputeGame", "Jury", "RoundsMarket"):  # RoundsMarket: aggregator bonds
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
    # window extensions included; two jury rounds, each of which may first wait one round's
    # length for enough jurors
    assert horizon == 120 + 1_440 + 60 + 2 * 120 + 4 * (60 + 60)
    with pytest.raises(DeploymentError, match="unbonding period 2340 s must exceed 2340 s"):
        DeploymentParams(unbonding_period=horizon)
    assert DeploymentParams(unbonding_period=horizon + 1).unbonding_period == horizon + 1


def test_the_deployer_keeps_no_power_but_the_devnet_faucet(
    w3: Web3, owner: Protocol, deployment: Deployment
) -> None:
    """Issue 11: the registry is wired once and renounced (nobody can wire in a contract that would
    lock, slash or freeze stakes); the token's mint exists on the devnet chain id only."""
    from node.chain.deploy import remaining_powers

    registry = owner.registry
    assert registry.owner() == "0x0000000000000000000000000000000000000000"
    with pytest.raises(ChainError, match="OwnableUnauthorizedAccount"):
        registry.set_protocol_contract(owner.deployment.deployer, True)
    assert not registry.is_protocol_contract(owner.deployment.deployer)
    # the rounds market is wired once (docs/ROUNDS.md): nobody can wire another
    with pytest.raises(ChainError, match="JobMarketUnauthorized"):
        owner.market.call_as(owner.deployment.deployer, "initialize", owner.deployment.deployer)
    assert owner.rounds_market.job_market() == owner.market.address
    assert remaining_powers(w3, deployment) == [
        f"CrowdToken.mint by {deployment.deployer}: the devnet faucet (chain id 31337 only)"
    ]


def test_off_devnet_the_supply_is_fixed_and_no_power_remains(decoder: RevertDecoder) -> None:
    from node.chain.deploy import DeploymentParams, deploy_protocol, remaining_powers

    node = start_anvil(chain_id=1_337)
    try:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        deployer = dev_account(0)
        supply = 1_000_000 * CROWD
        deployed = deploy_protocol(
            TxSender(w3, deployer, decoder), DeploymentParams(initial_supply=supply)
        )
        assert remaining_powers(w3, deployed) == []
        token = Protocol.from_deployment(w3, deployed, deployer, decoder=decoder).token
        assert token.total_supply() == supply
        assert token.balance_of(deployer.address) == supply
        assert token.owner() == "0x0000000000000000000000000000000000000000"
        with pytest.raises(ChainError, match="OwnableUnauthorizedAccount"):
            token.mint(deployer.address, 1)
        assert token.total_supply() == supply
        # even a token whose owner is kept cannot mint off the devnet
        sender = TxSender(w3, deployer, decoder)
        artifact = load_artifact("CrowdToken")
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        sent = sender.send(None, factory.constructor(deployer.address, 0).data_in_transaction)
        kept = CrowdTokenAdapter(
            w3, str(sent.receipt["contractAddress"]), sender=sender, decoder=decoder
        )
        assert kept.owner() == deployer.address
        with pytest.raises(ChainError, match="CrowdTokenMintDisabled"):
            kept.mint(deployer.address, 1)
        assert kept.total_supply() == 0
    finally:
        node.stop()


def test_the_unbonding_period_must_outlast_every_window_extension() -> None:
    """1,200 s outlasts the window, the reveal phase and one dispute (660 s) but not the extensions
    a chain of lost disputes adds to the window (up to `max_window_extension`): an attester could
    unstake after its reveal and withdraw before a late conviction."""
    from node.chain.deploy import DeploymentParams

    with pytest.raises(DeploymentError, match="window extensions"):
        DeploymentParams(unbonding_period=1_200)
    params = DeploymentParams()
    assert params.unbonding_period > params.slash_horizon() >= 660 + params.max_window_extension
