"""``Protocol``: the adapters of one deployment, bound to one RPC and (optionally) one signer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3

from node.chain.adapter import ContractAdapter, first_event
from node.chain.attestations import AttestationsAdapter
from node.chain.client import connect
from node.chain.deploy import Deployment, load_deployment
from node.chain.dispute_game import DisputeGameAdapter
from node.chain.events import JobPosted, RoundsJobPosted, Staked
from node.chain.job_market import JobMarketAdapter, price_terms
from node.chain.jury import JuryAdapter
from node.chain.reverts import RevertDecoder, project_decoder
from node.chain.rounds_market import RoundsMarketAdapter
from node.chain.stake_registry import StakeRegistryAdapter
from node.chain.token import CrowdTokenAdapter
from node.chain.tx import TxSender
from node.chain.types import Wei
from node.config import Settings
from node.errors import ConfigError

A = TypeVar("A", bound=ContractAdapter)


def account_from_key(private_key: str) -> LocalAccount:
    """A local signer; ConfigError (never echoing the key) when the key is malformed."""
    try:
        account: LocalAccount = Account.from_key(private_key)
        return account
    except (ValueError, TypeError):
        raise ConfigError("the private key is not a valid 32-byte hex key") from None


@dataclass(frozen=True)
class Protocol:
    """Everything a participant needs to talk to a crowdtrain deployment."""

    w3: Web3
    deployment: Deployment
    token: CrowdTokenAdapter
    registry: StakeRegistryAdapter
    market: JobMarketAdapter
    attestations: AttestationsAdapter
    dispute_game: DisputeGameAdapter
    jury: JuryAdapter
    sender: TxSender | None
    rounds_market: RoundsMarketAdapter

    @classmethod
    def connect(cls, settings: Settings, *, signer: bool = True) -> Protocol:
        """Connect to ``settings.rpc_url`` and load its checked deployment.

        With ``signer=True`` the settings' private key signs (ConfigError when it is missing).
        """
        w3 = connect(settings.rpc_url)
        account = account_from_key(settings.require_private_key()) if signer else None
        return cls.from_deployment(w3, load_deployment(settings, w3), account)

    @classmethod
    def from_deployment(
        cls,
        w3: Web3,
        deployment: Deployment,
        account: LocalAccount | None = None,
        *,
        decoder: RevertDecoder | None = None,
    ) -> Protocol:
        decoder = decoder or project_decoder()
        sender = TxSender(w3, account, decoder) if account is not None else None
        start = deployment.deployment_block

        def bind(kind: type[A], name: str) -> A:
            return kind(
                w3, deployment.address(name), sender=sender, decoder=decoder, from_block=start
            )

        return cls(
            w3=w3,
            deployment=deployment,
            token=bind(CrowdTokenAdapter, "CrowdToken"),
            registry=bind(StakeRegistryAdapter, "StakeRegistry"),
            market=bind(JobMarketAdapter, "JobMarket"),
            attestations=bind(AttestationsAdapter, "Attestations"),
            dispute_game=DisputeGameAdapter(
                w3,
                deployment.params.dispute_game or deployment.address("DisputeGame"),
                sender=sender,
                decoder=decoder,
                from_block=start,
            ),
            jury=bind(JuryAdapter, "Jury"),
            sender=sender,
            rounds_market=bind(RoundsMarketAdapter, "RoundsMarket"),
        )

    def as_account(self, account: LocalAccount) -> Protocol:
        """The same deployment, signing as another account (fresh nonce tracking)."""
        decoder = self.sender.decoder if self.sender else None
        return Protocol.from_deployment(self.w3, self.deployment, account, decoder=decoder)

    @property
    def address(self) -> ChecksumAddress:
        if self.sender is None:
            raise ConfigError("no private key: set CROWDTRAIN_PRIVATE_KEY or pass --private-key")
        return self.sender.address

    # --- two-step conveniences (approve, then act) ---

    def stake(self, amount: int) -> Staked:
        """Approve the registry (if needed) and stake ``amount``."""
        self.token.ensure_allowance(self.registry.address, amount)
        sent = self.registry.stake(amount)
        return first_event(self.registry.events_in(sent.receipt), Staked)

    def post_job(
        self,
        *,
        spec_hash: bytes,
        steps: int,
        checkpoint_every: int,
        reward: int,
        verifier_fee: int,
        solve_timeout: int,
        sample_rate_bps: int,
        floor: Wei | None = None,
        ramp: int = 0,
        min_finalized: int = 0,
    ) -> JobPosted:
        """Approve the escrow (if needed) and post the job (price terms: ``JobMarketAdapter.post_job``).
        Bad terms raise ValueError before the approval."""
        price_terms(reward, floor, ramp, min_finalized)
        self.token.ensure_allowance(self.market.address, reward + verifier_fee)
        return self.market.post_job(
            spec_hash=spec_hash,
            steps=steps,
            checkpoint_every=checkpoint_every,
            reward=reward,
            verifier_fee=verifier_fee,
            solve_timeout=solve_timeout,
            sample_rate_bps=sample_rate_bps,
            floor=floor,
            ramp=ramp,
            min_finalized=min_finalized,
        )

    def post_rounds_job(
        self,
        *,
        spec_hash: bytes,
        workers: int,
        rounds: int,
        quorum: int,
        inner_steps: int,
        checkpoint_every: int,
        unit_reward: int,
        unit_verifier_fee: int,
        solve_timeout: int,
        round_timeout: int,
        sample_rate_bps: int,
        unit_floor: int | None = None,
        unit_ramp: int = 0,
        unit_min_finalized: int = 0,
    ) -> RoundsJobPosted:
        """Approve the escrow W·R·(unit_reward + unit_verifier_fee) (if needed) and post the
        rounds job; round 0's units are JobMarket jobs from then on."""
        price_terms(unit_reward, unit_floor, unit_ramp, unit_min_finalized)  # before the approval
        escrow = workers * rounds * (unit_reward + unit_verifier_fee)
        self.token.ensure_allowance(self.rounds_market.address, escrow)
        return self.rounds_market.post_rounds_job(
            spec_hash=spec_hash,
            workers=workers,
            rounds=rounds,
            quorum=quorum,
            inner_steps=inner_steps,
            checkpoint_every=checkpoint_every,
            unit_reward=unit_reward,
            unit_verifier_fee=unit_verifier_fee,
            solve_timeout=solve_timeout,
            round_timeout=round_timeout,
            sample_rate_bps=sample_rate_bps,
            unit_floor=unit_floor,
            unit_ramp=unit_ramp,
            unit_min_finalized=unit_min_finalized,
        )
