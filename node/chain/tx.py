"""``TxSender``: the one place that signs and sends transactions.

It signs locally with eth-account (the key never leaves the object, never shows in a repr or a
log line), keeps its own nonce so many transactions can go out back to back, estimates gas with a
margin, waits for the receipt, and turns every revert — at estimation or after mining — into a
``TransactionRevertedError`` carrying the decoded custom error's name and arguments.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception, Web3RPCError
from web3.types import TxParams, TxReceipt

from node.chain.reverts import RevertDecoder, revert_data_of
from node.errors import ChainError, RpcUnreachableError, TransactionRevertedError

log = logging.getLogger(__name__)

DEFAULT_GAS_MARGIN = 1.25
DEFAULT_RECEIPT_TIMEOUT_S = 120.0
_NONCE_ERRORS = ("nonce too low", "already known", "nonce too high", "replacement transaction")


@dataclass(frozen=True)
class PendingTx:
    """A signed transaction the node accepted, not yet waited for."""

    tx_hash: HexBytes
    label: str
    call: dict[str, Any]


@dataclass(frozen=True)
class SentTx:
    """A mined, successful transaction."""

    tx_hash: HexBytes
    receipt: TxReceipt

    @property
    def gas_used(self) -> int:
        return int(self.receipt["gasUsed"])

    @property
    def block_number(self) -> int:
        return int(self.receipt["blockNumber"])


def raise_for_revert(err: BaseException, decoder: RevertDecoder, label: str) -> None:
    """Re-raise a web3 revert as TransactionRevertedError; return silently for other errors."""
    if isinstance(err, ContractLogicError) or (
        isinstance(err, Web3RPCError) and "revert" in str(err).lower()
    ):
        decoded = decoder.decode(revert_data_of(err))
        raise TransactionRevertedError(
            f"{label} reverted: {decoded.describe()}",
            error_name=decoded.name,
            error_args=decoded.args,
        ) from err


class TxSender:
    """Signs and sends transactions for one account on one chain; safe to share between threads."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        decoder: RevertDecoder,
        *,
        gas_margin: float = DEFAULT_GAS_MARGIN,
        receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT_S,
        poll_interval: float = 0.1,
    ) -> None:
        self._w3 = w3
        self._account = account
        self._decoder = decoder
        self._gas_margin = gas_margin
        self._receipt_timeout = receipt_timeout
        self._poll_interval = poll_interval
        self._nonce: int | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TxSender(address={self.address})"

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    @property
    def w3(self) -> Web3:
        return self._w3

    @property
    def decoder(self) -> RevertDecoder:
        return self._decoder

    def reset_nonce(self) -> None:
        """Forget the cached nonce (after an ``evm_revert`` or a transaction sent elsewhere)."""
        with self._lock:
            self._nonce = None

    def send(
        self,
        to: ChecksumAddress | None,
        data: str | bytes,
        *,
        value: int = 0,
        label: str = "transaction",
        gas: int | None = None,
    ) -> SentTx:
        """Estimate, sign, send and wait; ``to=None`` deploys ``data`` as init code.

        Raises:
            TransactionRevertedError: the call reverts at estimation or after mining.
            ChainError: the receipt does not arrive in time, or the node rejects the transaction.
        """
        return self.wait(self.submit(to, data, value=value, label=label, gas=gas))

    def submit(
        self,
        to: ChecksumAddress | None,
        data: str | bytes,
        *,
        value: int = 0,
        label: str = "transaction",
        gas: int | None = None,
    ) -> PendingTx:
        """Estimate, sign and send without waiting: many submits in a row share one block.

        Each estimate runs against the current state, so only pipeline transactions that do not
        depend on each other's effects (or pass ``gas``).
        """
        tx: dict[str, Any] = {"from": self.address, "data": HexBytes(data), "value": value}
        if to is not None:
            tx["to"] = to
        with self._lock:
            if gas is None:
                gas = self._estimate(tx, label)
            tx_hash = self._sign_and_send(tx, gas, label)
        return PendingTx(tx_hash=tx_hash, label=label, call={**tx, "gas": gas})

    def wait(self, pending: PendingTx) -> SentTx:
        """The receipt of a submitted transaction; a revert raises TransactionRevertedError."""
        receipt = self._wait(pending.tx_hash, pending.label)
        if receipt["status"] != 1:
            self._explain_failure(pending.call, receipt, pending.label)
        return SentTx(tx_hash=pending.tx_hash, receipt=receipt)

    def _estimate(self, tx: dict[str, Any], label: str) -> int:
        try:
            estimate = self._w3.eth.estimate_gas(cast(TxParams, tx))
        except (ContractLogicError, Web3RPCError) as err:
            raise_for_revert(err, self._decoder, label)
            raise ChainError(f"{label}: gas estimation failed: {err}") from err
        except (requests.RequestException, OSError) as err:
            raise RpcUnreachableError(f"{label}: RPC unreachable: {err}") from err
        return int(estimate * self._gas_margin) + 10_000

    def _fees(self) -> dict[str, int]:
        latest = self._w3.eth.get_block("latest")
        base_fee = latest.get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": int(self._w3.eth.gas_price)}
        try:
            tip = int(self._w3.eth.max_priority_fee)
        except (Web3Exception, ValueError):
            tip = 10**9
        return {"maxFeePerGas": 2 * int(base_fee) + tip, "maxPriorityFeePerGas": tip}

    def _sign_and_send(self, tx: dict[str, Any], gas: int, label: str) -> HexBytes:
        for attempt in range(2):
            if self._nonce is None:
                self._nonce = self._w3.eth.get_transaction_count(self.address, "pending")
            full: dict[str, Any] = {
                **{k: v for k, v in tx.items() if k != "from"},
                **self._fees(),
                "gas": gas,
                "nonce": self._nonce,
                "chainId": self._w3.eth.chain_id,
            }
            signed = self._account.sign_transaction(full)
            try:
                tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
            except Web3RPCError as err:
                if attempt == 0 and any(s in str(err).lower() for s in _NONCE_ERRORS):
                    log.info("nonce %s rejected for %s, resyncing", self._nonce, self.address)
                    self._nonce = None
                    continue
                raise ChainError(f"{label}: the node rejected the transaction: {err}") from err
            except (requests.RequestException, OSError) as err:
                self._nonce = None
                raise RpcUnreachableError(f"{label}: RPC unreachable: {err}") from err
            self._nonce += 1
            log.debug("sent %s as %s (nonce %d)", label, tx_hash.hex(), full["nonce"])
            return HexBytes(tx_hash)
        raise ChainError(f"{label}: could not find a usable nonce")  # pragma: no cover

    def _wait(self, tx_hash: HexBytes, label: str) -> TxReceipt:
        try:
            return self._w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self._receipt_timeout, poll_latency=self._poll_interval
            )
        except TimeExhausted as err:
            raise ChainError(
                f"{label}: no receipt for 0x{tx_hash.hex()} after {self._receipt_timeout:.0f} s"
            ) from err

    def _explain_failure(self, tx: dict[str, Any], receipt: TxReceipt, label: str) -> None:
        """Replay a mined, failed transaction on the parent block to recover its revert data."""
        parent = max(int(receipt["blockNumber"]) - 1, 0)
        replay = {k: v for k, v in tx.items() if k != "gas"}
        try:
            self._w3.eth.call(cast(TxParams, replay), block_identifier=parent)
        except (ContractLogicError, Web3RPCError) as err:
            raise_for_revert(
                err, self._decoder, f"{label} (mined in block {receipt['blockNumber']})"
            )
        raise TransactionRevertedError(
            f"{label} reverted in block {receipt['blockNumber']} "
            f"(gas used {receipt['gasUsed']} of {tx.get('gas', '?')}); no revert data on replay"
        )
