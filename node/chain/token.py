"""Typed adapter of ``CrowdToken`` (ERC20 + ERC20Permit, owner-only ``mint``)."""

from __future__ import annotations

from eth_typing import ChecksumAddress

from node.chain.adapter import ContractAdapter
from node.chain.events import TOKEN_EVENTS
from node.chain.tx import SentTx
from node.chain.types import Wei


class CrowdTokenAdapter(ContractAdapter):
    CONTRACT = "CrowdToken"
    EVENTS = TOKEN_EVENTS

    def balance_of(self, account: str) -> Wei:
        return Wei(int(self._call("balanceOf", self.w3.to_checksum_address(account))))

    def allowance(self, owner: str, spender: str) -> Wei:
        return Wei(
            int(
                self._call(
                    "allowance",
                    self.w3.to_checksum_address(owner),
                    self.w3.to_checksum_address(spender),
                )
            )
        )

    def total_supply(self) -> Wei:
        return Wei(int(self._call("totalSupply")))

    def owner(self) -> ChecksumAddress:
        return self.w3.to_checksum_address(self._call("owner"))

    def approve(self, spender: str, amount: int) -> SentTx:
        return self._transact("approve", self.w3.to_checksum_address(spender), amount)

    def ensure_allowance(self, spender: str, amount: int) -> SentTx | None:
        """Approve ``amount`` for ``spender`` unless the sender's allowance already covers it."""
        assert self.sender is not None, "ensure_allowance needs a signer"
        if self.allowance(self.sender.address, spender) >= amount:
            return None
        return self.approve(spender, amount)

    def transfer(self, to: str, amount: int) -> SentTx:
        return self._transact("transfer", self.w3.to_checksum_address(to), amount)

    def mint(self, to: str, amount: int) -> SentTx:
        """Owner only (the devnet faucet)."""
        return self._transact("mint", self.w3.to_checksum_address(to), amount)
