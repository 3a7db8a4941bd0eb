"""Deploy the protocol (token, registry, attestations, jury, dispute game, market, rounds market),
wire it, record it.

``deployments/<chainId>.json`` (docs/PROTOCOL.md §3) holds the chain id, the deployment block, the
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

DEVNET_CHAIN_ID = 31_337
CONTRACTS = (
    "CrowdToken",
    "StakeRegistry",
    "Attestations",
    "Jury",
    "DisputeGame",
    "JobMarket",
    "RoundsMarket",
)


@dataclass(frozen=True)
class DeploymentParams:
    """Constructor parameters; defaults are the devnet profile of docs/PROTOCOL.md §7."""

    challenge_window: int = 120
    unbonding_period: int = 3_600
    min_solver_stake: int = 100 * CROWD
    min_sample_rate_bps: int = 500
    min_solve_timeout: int = 60
    max_solve_timeout: int = 30 * 24 * 3_600
    dispute_game: str | None = None
    """Address JobMarket lets freeze/reopen/slash. None (the default) deploys DisputeGame; an address
    (e.g. the deployer, to play the game by hand in tests) is used instead — then no DisputeGame."""
    # docs/PROTOCOL.md §5, §6, §8 (issue 4)
    reveal_phase: int = 60
    min_verifier_stake: int = 100 * CROWD
    attesters_per_job: int = 3
    seed_delay: int = 2
    attester_slash: int = 5 * CROWD
    min_challenge_bond: int = 10 * CROWD
    move_clock: int = 120
    bisection_degree: int = 16
    jury_size: int = 3
    jury_min_jurors: int = 3
    jury_commit_phase: int = 60
    jury_reveal_phase: int = 60
    juror_stake: int = 10 * CROWD
    juror_slash: int = 5 * CROWD
    juror_fee_bps: int = 100
    jackpot_bps: int = 5_000
    submitter_bps: int = 2_500
    bond_to_solver_bps: int = 5_000
    # issue 11: a fee per revealed challenge bounds how far a sybil can dilute the jackpot split,
    # and a cap on the window extensions bounds the slash horizon (docs/DISPUTES.md)
    challenge_fee_bps: int = 5_000
    max_window_extension: int = 1_440
    initial_supply: int = 0
    """Token wei minted to the deployer: the whole supply off the devnet (no mint there)."""

    def __post_init__(self) -> None:
        if self.unbonding_period <= self.slash_horizon():
            raise DeploymentError(
                f"unbonding period {self.unbonding_period} s must exceed {self.slash_horizon()} s "
                "(challenge window + all window extensions + reveal phase + the longest single "
                "dispute), or an attester could unstake and withdraw before its fraud is proven"
            )

    def slash_horizon(self) -> int:
        """Seconds from a commit to the latest verdict that can slash an attester: the window,
        every extension lost disputes add to it (capped by ``max_window_extension``), the reveal
        phase, then one more dispute opened at its last second: both chess clocks and two jury
        rounds (a tie re-draws once), each of which may first wait one jury round's length for
        enough jurors to sit."""
        jury_round = self.jury_commit_phase + self.jury_reveal_phase
        windows = self.challenge_window + self.max_window_extension + self.reveal_phase
        return windows + 2 * self.move_clock + 4 * jury_round

    def dispute_params(self) -> tuple[int, ...]:
        """``IDisputeGame.Params`` in field order."""
        return (
            self.min_challenge_bond,
            self.move_clock,
            self.bisection_degree,
            self.juror_fee_bps,
            self.jackpot_bps,
            self.submitter_bps,
            self.bond_to_solver_bps,
            self.challenge_fee_bps,
        )


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

    @property
    def rounds_market(self) -> ChecksumAddress:
        """The RoundsMarket (docs/ROUNDS.md): posts and gates the units of rounds jobs."""
        return self.address("RoundsMarket")

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
    """Deploy and wire the contracts from ``sender``'s account, then give up every owner power:
    the registry is wired once and renounced; the token keeps its owner only on the devnet chain
    id, where ``mint`` is the faucet (elsewhere the supply is ``initial_supply``, fixed)."""
    params = params or DeploymentParams()
    w3 = sender.w3
    owner = sender.address
    chain_id = int(w3.eth.chain_id)
    if chain_id != DEVNET_CHAIN_ID and params.initial_supply == 0:
        raise DeploymentError(
            f"chain {chain_id} is not the devnet ({DEVNET_CHAIN_ID}): CrowdToken cannot mint "
            "there, so give it an initial supply (--initial-supply)"
        )

    token, first_block = _deploy(sender, "CrowdToken", owner, params.initial_supply)
    registry, _ = _deploy(
        sender, "StakeRegistry", token, params.unbonding_period, params.min_verifier_stake, owner
    )
    attestations, _ = _deploy(
        sender,
        "Attestations",
        registry,
        params.attesters_per_job,
        params.seed_delay,
        params.attester_slash,
    )
    jury, _ = _deploy(
        sender,
        "Jury",
        registry,
        params.jury_size,
        params.jury_min_jurors,
        params.seed_delay,
        params.jury_commit_phase,
        params.jury_reveal_phase,
        params.juror_stake,
        params.juror_slash,
    )
    game: ChecksumAddress | None = None
    if params.dispute_game is None:
        game, _ = _deploy(sender, "DisputeGame", registry, params.dispute_params())
    dispute_game = game or Web3.to_checksum_address(params.dispute_game or owner)
    market, _ = _deploy(
        sender,
        "JobMarket",
        token,
        registry,
        dispute_game,
        attestations,
        params.reveal_phase,
        params.min_solver_stake,
        params.challenge_window,
        params.min_sample_rate_bps,
        params.min_solve_timeout,
        params.max_solve_timeout,
        params.max_window_extension,
    )
    rounds_market, _ = _deploy(sender, "RoundsMarket", market)
    _call(sender, "JobMarket", market, "initialize", rounds_market)
    _call(sender, "Attestations", attestations, "initialize", market)
    _call(sender, "Jury", jury, "initialize", dispute_game)
    adapter = StakeRegistryAdapter(w3, registry, sender=sender)
    adapter.set_protocol_contract(market, True)
    adapter.set_protocol_contract(jury, True)
    # RoundsMarket locks, slashes and burns outer-step publishers' bonds (docs/ROUNDS.md, Aggregator)
    adapter.set_protocol_contract(rounds_market, True)
    addresses = {
        "CrowdToken": token,
        "StakeRegistry": registry,
        "Attestations": attestations,
        "Jury": jury,
        "JobMarket": market,
        "RoundsMarket": rounds_market,
    }
    if game is not None:
        _call(sender, "DisputeGame", game, "initialize", market, attestations, jury)
        adapter.set_protocol_contract(game, True)
        addresses["DisputeGame"] = game
    _call(sender, "StakeRegistry", registry, "renounceOwnership")
    if chain_id != DEVNET_CHAIN_ID:
        _call(sender, "CrowdToken", token, "renounceOwnership")
    return Deployment(
        chain_id=chain_id,
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


def _call(sender: TxSender, name: str, address: ChecksumAddress, fn: str, *args: Any) -> None:
    contract = sender.w3.eth.contract(address=address, abi=load_artifact(name).abi)
    data = contract.get_function_by_name(fn)(*args)._encode_transaction_data()
    sender.send(address, data, label=f"{name}.{fn}")


def remaining_powers(w3: Web3, deployment: Deployment) -> list[str]:
    """Who can still change the protocol's rules or money after the deployment, one line each;
    the goal is none. Read from the chain, not from the deployment file."""
    powers: list[str] = []
    for name in ("StakeRegistry", "CrowdToken"):
        contract = w3.eth.contract(address=deployment.address(name), abi=load_artifact(name).abi)
        holder = Web3.to_checksum_address(contract.functions.owner().call())
        if int(holder, 16) == 0:
            continue
        if name == "CrowdToken" and deployment.chain_id == DEVNET_CHAIN_ID:
            powers.append(f"CrowdToken.mint by {holder}: the devnet faucet (chain id 31337 only)")
        elif name == "CrowdToken":
            powers.append(f"CrowdToken owner {holder} (mint is disabled off the devnet)")
        else:
            powers.append(
                f"StakeRegistry.setProtocolContract by {holder}: can lock and slash stakes"
            )
    market = w3.eth.contract(
        address=deployment.address("JobMarket"), abi=load_artifact("JobMarket").abi
    )
    if int(market.functions.roundsMarket().call(), 16) == 0:
        powers.append(
            "JobMarket.initialize by its deployer: can wire a rounds market that posts and "
            "cancels units"
        )
    if "DisputeGame" not in deployment.contracts and deployment.params.dispute_game:
        powers.append(
            f"JobMarket dispute game is {deployment.params.dispute_game}: it can freeze, reopen "
            "and slash every job"
        )
    return powers


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
        if record is None and name == "DisputeGame" and deployment.params.dispute_game:
            continue  # a hand-played dispute game (tests)
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
