"""Deploy CrowdToken, StakeRegistry and JobMarket, wire them, and record the deployment.

``deployments/<chainId>.json`` (DESIGN §8) holds the chain id, the deployment block, the
parameters, and for each contract its address and ABI hash. ``load_deployment`` checks it against
the chain (code at every address) and the current build (same ABI hashes) before anyone trusts it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3

from node.chain.client import connect
from node.chain.compile import load_artifact
from node.chain.stake_registry import StakeRegistryAdapter
from node.chain.tx import TxSender
from node.chain.types import BlockNumber
from node.chain.units import CROWD
from node.config import Settings
from node.errors import ChainError, DeploymentError

CONTRACTS = ("CrowdToken", "StakeRegistry", "JobMarket")


@dataclass(frozen=True)
class DeploymentParams:
    """Constructor parameters; defaults are the devnet profile of DESIGN §9."""

    challenge_window: int = 120
    unbonding_period: int = 3_600
    min_solver_stake: int = 100 * CROWD
    min_sample_rate_bps: int = 500
    min_solve_timeout: int = 60
    max_solve_timeout: int = 30 * 24 * 3_600
    dispute_game: str | None = None
    """Address allowed to freeze/reopen/slash. Until the DisputeGame contract exists, None means
    the deployer (so a devnet operator can play the dispute game by hand)."""


@dataclass(frozen=True)
class ContractRecord:
    address: ChecksumAddress
    abi_hash: str


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    deployment_block: BlockNumber
    deployer: ChecksumAddress
    contracts: Mapping[str, ContractRecord]
    params: DeploymentParams = field(default_factory=DeploymentParams)

    def address(self, name: str) -> ChecksumAddress:
        try:
            return self.contracts[name].address
        except KeyError as err:
            raise DeploymentError(f"deployment for chain {self.chain_id} has no {name}") from err

    def to_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "deploymentBlock": self.deployment_block,
            "deployer": self.deployer,
            "contracts": {
                name: {"address": rec.address, "abiHash": rec.abi_hash}
                for name, rec in self.contracts.items()
            },
            "params": dataclasses.asdict(self.params),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        return cls(
            chain_id=int(data["chainId"]),
            deployment_block=BlockNumber(int(data["deploymentBlock"])),
            deployer=Web3.to_checksum_address(data["deployer"]),
            contracts={
                name: ContractRecord(Web3.to_checksum_address(rec["address"]), str(rec["abiHash"]))
                for name, rec in data["contracts"].items()
            },
            params=DeploymentParams(**data.get("params", {})),
        )


def deployment_path(deployments_dir: Path, chain_id: int) -> Path:
    return deployments_dir / f"{chain_id}.json"


def deploy_protocol(sender: TxSender, params: DeploymentParams | None = None) -> Deployment:
    """Deploy and wire the three contracts from ``sender``'s account (it becomes their owner)."""
    params = params or DeploymentParams()
    w3 = sender.w3
    owner = sender.address
    dispute_game = Web3.to_checksum_address(params.dispute_game or owner)

    token, first_block = _deploy(sender, "CrowdToken", owner)
    registry, _ = _deploy(sender, "StakeRegistry", token, params.unbonding_period, owner)
    market, _ = _deploy(
        sender,
        "JobMarket",
        token,
        registry,
        dispute_game,
        params.min_solver_stake,
        params.challenge_window,
        params.min_sample_rate_bps,
        params.min_solve_timeout,
        params.max_solve_timeout,
    )
    StakeRegistryAdapter(w3, registry, sender=sender).set_protocol_contract(market, True)
    addresses = {"CrowdToken": token, "StakeRegistry": registry, "JobMarket": market}
    return Deployment(
        chain_id=int(w3.eth.chain_id),
        deployment_block=first_block,
        deployer=owner,
        contracts={
            name: ContractRecord(addr, load_artifact(name).abi_hash)
            for name, addr in addresses.items()
        },
        params=dataclasses.replace(params, dispute_game=dispute_game),
    )


def _deploy(sender: TxSender, name: str, *args: Any) -> tuple[ChecksumAddress, BlockNumber]:
    artifact = load_artifact(name)
    if artifact.bytecode in ("", "0x"):
        raise DeploymentError(f"{name} has no bytecode (is it an interface or abstract?)")
    factory = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    sent = sender.send(None, data, label=f"deploy {name}")
    address = sent.receipt.get("contractAddress")
    if not address:
        raise ChainError(f"deploy {name}: the receipt has no contract address")
    return Web3.to_checksum_address(address), BlockNumber(sent.block_number)


def write_deployment(deployment: Deployment, deployments_dir: Path) -> Path:
    deployments_dir.mkdir(parents=True, exist_ok=True)
    path = deployment_path(deployments_dir, deployment.chain_id)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(deployment.to_json(), indent=2) + "\n")
    tmp.replace(path)
    return path


def read_deployment(deployments_dir: Path, chain_id: int) -> Deployment:
    """The recorded deployment, unchecked. DeploymentError when there is none or it is unreadable."""
    path = deployment_path(deployments_dir, chain_id)
    if not path.exists():
        raise DeploymentError(
            f"no deployment for chain {chain_id} in {deployments_dir}: "
            "run `crowdtrain devnet up` or `crowdtrain deploy`"
        )
    try:
        return Deployment.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as err:
        raise DeploymentError(f"{path} is not a valid deployment file: {err}") from err


def verify_deployment(w3: Web3, deployment: Deployment) -> None:
    """Check the chain id, code at every address, and ABI hashes against the current build."""
    chain_id = int(w3.eth.chain_id)
    if chain_id != deployment.chain_id:
        raise DeploymentError(
            f"deployment is for chain {deployment.chain_id}, RPC is chain {chain_id}"
        )
    redeploy = "run `crowdtrain devnet up` or `crowdtrain deploy` again"
    for name in CONTRACTS:
        record = deployment.contracts.get(name)
        if record is None:
            raise DeploymentError(f"deployment for chain {chain_id} lacks {name}: {redeploy}")
        if len(w3.eth.get_code(record.address)) == 0:
            raise DeploymentError(
                f"no code at {name} address {record.address} on chain {chain_id} "
                f"(was the chain reset?): {redeploy}"
            )
        current = load_artifact(name).abi_hash
        if record.abi_hash != current:
            raise DeploymentError(
                f"{name} on chain {chain_id} was deployed from another ABI "
                f"({record.abi_hash[:10]}…, the build has {current[:10]}…): {redeploy}"
            )


def load_deployment(settings: Settings, w3: Web3 | None = None) -> Deployment:
    """The deployment of the settings' chain, checked against the chain and the build.

    Raises:
        RpcUnreachableError: the RPC endpoint does not answer.
        DeploymentError: no deployment file, or it does not match the chain or the build.
    """
    if w3 is None:
        w3 = connect(settings.rpc_url)
    deployment = read_deployment(settings.deployments_dir, int(w3.eth.chain_id))
    verify_deployment(w3, deployment)
    return deployment
