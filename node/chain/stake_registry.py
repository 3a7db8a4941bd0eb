"""Typed adapter of ``StakeRegistry``: stake, unbonding, withdrawal and the stake views."""

from __future__ import annotations

from eth_typing import ChecksumAddress

from node.chain.adapter import ContractAdapter
from node.chain.events import STAKE_REGISTRY_EVENTS
from node.chain.tx import SentTx
from node.chain.types import StakeInfo, Timestamp, Wei


class StakeRegistryAdapter(ContractAdapter):
    CONTRACT = "StakeRegistry"
    EVENTS = STAKE_REGISTRY_EVENTS

    def stake(self, amount: int) -> SentTx:
        """Pull ``amount`` tokens into the sender's stake (approve the registry first)."""
        return self._transact("stake", amount)

    def request_unstake(self, amount: int) -> SentTx:
        return self._transact("requestUnstake", amount)

    def withdraw(self) -> SentTx:
        """Withdraw all released unbonding stake."""
        return self._transact("withdraw")

    def register_verifier(self) -> SentTx:
        """Join the verifier set (needs ``minVerifierStake`` staked)."""
        return self._transact("registerVerifier")

    def owner(self) -> ChecksumAddress:
        """The zero address once the deployment renounced it (nobody can wire contracts)."""
        return self.w3.to_checksum_address(self._call("owner"))

    def set_protocol_contract(self, protocol_contract: str, allowed: bool) -> SentTx:
        return self._transact(
            "setProtocolContract", self.w3.to_checksum_address(protocol_contract), allowed
        )

    def stake_of(self, account: str) -> StakeInfo:
        staked, locked, unbonding, release = self._call(
            "stakeOf", self.w3.to_checksum_address(account)
        )
        return StakeInfo(
            staked=Wei(int(staked)),
            locked=Wei(int(locked)),
            unbonding=Wei(int(unbonding)),
            unbonding_release_time=Timestamp(int(release)),
        )

    def free_stake_of(self, account: str) -> Wei:
        return Wei(int(self._call("freeStakeOf", self.w3.to_checksum_address(account))))

    def is_protocol_contract(self, account: str) -> bool:
        return bool(self._call("isProtocolContract", self.w3.to_checksum_address(account)))

    def unbonding_period(self) -> int:
        return int(self._call("unbondingPeriod"))

    def total_staked(self) -> Wei:
        return Wei(int(self._call("totalStaked")))
