"""``TxSender``: the one place that signs and sends transactions.

It signs locally with eth-account (the key never leaves the object, never shows in a repr or a
log line), keeps its own nonce so many transactions can go out back to back, estimates gas with a
margin, waits for the receipt (sending again, fees bumped, what the node lost or left pending), and
turns every revert — at estimation or after mining — into a
``TransactionRevertedError`` carrying the decoded custom error's name and arguments.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.types import TxParams, TxReceipt

from node.chain.inflight import InFlight, bumped
from node.chain.reverts import RevertDecoder, revert_data_of
from node.errors import ChainError, RpcUnreachableError, TransactionRevertedError

log = logging.getLogger(__name__)

DEFAULT_GAS_MARGIN = 1.25
DEFAULT_RECEIPT_TIMEOUT_S = 120.0
DEFAULT_REPLACE_AFTER_S = 30.0
_NONCE_ERRORS = ("nonce too low", "already known", "nonce too high", "replacement transaction")


@dataclass(frozen=True)
class PendingTx:
    """A signed transaction the node accepted, not yet waited for."""

    tx_hash: HexBytes
    label: str
    call: dict[str, Any]
    nonce: int


@dataclass(frozen=True)
class SentTx:
    """A mined, successful transaction (``tx_hash``: the one mined, maybe a fee-bumped replacement)."""

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
    """Signs and sends transactions for one account on one chain; safe to share between threads.

    A transaction is never abandoned while the receipt timeout runs: an RPC outage is waited out,
    a transaction the node forgot (a restart, a dropped pool entry, a gap below ours) is sent
    again under its own nonce, and one left pending for ``replace_after`` seconds is replaced
    with bumped fees (``node.chain.inflight``).
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        decoder: RevertDecoder,
        *,
        gas_margin: float = DEFAULT_GAS_MARGIN,
        receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT_S,
        poll_interval: float = 0.1,
        replace_after: float = DEFAULT_REPLACE_AFTER_S,
    ) -> None:
        self._w3 = w3
        self._account = account
        self._decoder = decoder
        self._gas_margin = gas_margin
        self._receipt_timeout = receipt_timeout
        self._poll_interval = poll_interval
        self._replace_after = replace_after
        self._nonce: int | None = None
        self._chain_id: int | None = None
        self._in_flight: dict[int, InFlight] = {}
        self._lock = threading.RLock()

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
        """Forget the cached nonce and the transactions in flight (after an ``evm_revert`` or a
        transaction sent elsewhere)."""
        with self._lock:
            self._nonce = None
            self._in_flight.clear()

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
            RpcUnreachableError: the RPC is unreachable before anything was sent.
            ChainError: no receipt in time, or the node rejects the transaction.
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
            flight = self._sign_and_send(tx, gas, label)
        return PendingTx(
            tx_hash=flight.hashes[0], label=label, call={**tx, "gas": gas}, nonce=flight.nonce
        )

    def wait(self, pending: PendingTx) -> SentTx:
        """The receipt of a submitted transaction; a revert raises TransactionRevertedError."""
        tx_hash, receipt = self._wait(pending)
        if receipt["status"] != 1:
            self._explain_failure(pending.call, receipt, pending.label)
        return SentTx(tx_hash=tx_hash, receipt=receipt)

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

    def _next_nonce(self) -> int:
        if self._nonce is None:
            pending = self._w3.eth.get_transaction_count(self.address, "pending")
            self._nonce = max([pending, *(n + 1 for n in self._in_flight)])
        return self._nonce

    def _sign_and_send(self, tx: dict[str, Any], gas: int, label: str) -> InFlight:
        fields = {k: v for k, v in tx.items() if k != "from"}
        for attempt in range(2):
            try:
                nonce, fees = self._next_nonce(), self._fees()
            except (requests.RequestException, OSError) as err:
                self._nonce = None
                raise RpcUnreachableError(f"{label}: RPC unreachable: {err}") from err
            flight = InFlight(nonce, fields, gas, label, fees, 0.0)
            try:
                self._broadcast(flight)
            except Web3RPCError as err:
                if attempt == 0 and any(s in str(err).lower() for s in _NONCE_ERRORS):
                    log.info("nonce %s rejected for %s, resyncing", self._nonce, self.address)
                    self._nonce = None
                    continue
                raise ChainError(f"{label}: the node rejected the transaction: {err}") from err
            except (requests.RequestException, OSError) as err:
                if not flight.hashes:  # nothing signed yet: nothing can have been sent
                    self._nonce = None
                    raise RpcUnreachableError(f"{label}: RPC unreachable: {err}") from err
                # signed and maybe delivered: it keeps its nonce and ``wait`` resends it
                log.warning("%s: RPC unreachable while sending, will resend: %s", label, err)
            self._in_flight[flight.nonce] = flight
            self._nonce = flight.nonce + 1
            log.debug("sent %s as %s (nonce %d)", label, flight.hashes[-1].hex(), flight.nonce)
            return flight
        raise ChainError(f"{label}: could not find a usable nonce")  # pragma: no cover

    def _broadcast(self, flight: InFlight) -> None:
        """Sign ``flight`` with its current fees and send it; its hash is recorded first, so a
        send cut off by an outage is still looked for (and resent) by ``wait``."""
        if self._chain_id is None:
            self._chain_id = int(self._w3.eth.chain_id)
        full: dict[str, Any] = {
            **flight.tx,
            **flight.fees,
            "gas": flight.gas,
            "nonce": flight.nonce,
            "chainId": self._chain_id,
        }
        signed = self._account.sign_transaction(full)
        flight.hashes.append(HexBytes(signed.hash))
        flight.sent_at = time.monotonic()
        self._w3.eth.send_raw_transaction(signed.raw_transaction)

    # --- waiting, resending, replacing ---

    def _wait(self, pending: PendingTx) -> tuple[HexBytes, TxReceipt]:
        deadline = time.monotonic() + self._receipt_timeout
        outage: BaseException | None = None
        while True:
            try:
                found = self._mined(pending)
                if found is not None:
                    return found
                self._unstick(pending)
                outage = None
            except (requests.RequestException, OSError, RpcUnreachableError) as err:
                if outage is None:
                    log.warning(
                        "%s: RPC unreachable while waiting for its receipt, still waiting: %s",
                        pending.label,
                        err,
                    )
                outage = err
            if time.monotonic() >= deadline:
                why = " (the RPC was unreachable)" if outage is not None else ""
                raise ChainError(
                    f"{pending.label}: no receipt for 0x{pending.tx_hash.hex()} "
                    f"after {self._receipt_timeout:.0f} s{why}"
                )
            time.sleep(self._poll_interval)

    def _hashes_of(self, pending: PendingTx) -> list[HexBytes]:
        with self._lock:
            flight = self._in_flight.get(pending.nonce)
            return list(flight.hashes) if flight is not None else [pending.tx_hash]

    def _mined(self, pending: PendingTx) -> tuple[HexBytes, TxReceipt] | None:
        """The receipt of whichever of our transactions under ``pending``'s nonce was mined."""
        for tx_hash in self._hashes_of(pending):
            try:
                receipt = self._w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                continue
            with self._lock:
                # only this nonce: a lower one's waiter may still need its hashes (a resend at
                # other fees has another hash than the one its PendingTx names)
                self._in_flight.pop(pending.nonce, None)
            return HexBytes(tx_hash), receipt
        return None

    def _unstick(self, pending: PendingTx) -> None:
        """Send again every transaction of ours from the chain's nonce up to ``pending``'s that the
        node forgot, and replace (fees bumped) those pending for longer than ``replace_after``."""
        with self._lock:
            flight = self._in_flight.get(pending.nonce)
            if flight is None:
                return
            now = time.monotonic()
            confirmed = self._w3.eth.get_transaction_count(self.address, "latest")
            if confirmed > pending.nonce:
                # our nonce is used: a receipt shows up at the next poll, unless another
                # transaction (sent elsewhere with this key) took the nonce
                flight.nonce_used_since = flight.nonce_used_since or now
                if now - flight.nonce_used_since > max(2.0, 10 * self._poll_interval):
                    del self._in_flight[pending.nonce]
                    raise ChainError(
                        f"{pending.label}: nonce {pending.nonce} was used by another transaction"
                    )
                return
            for nonce in sorted(n for n in self._in_flight if confirmed <= n <= pending.nonce):
                self._resend_if_stuck(self._in_flight[nonce], now)

    def _resend_if_stuck(self, flight: InFlight, now: float) -> None:
        known = any(self._known(h) for h in flight.hashes)
        if known and now - flight.sent_at < self._replace_after:
            return
        old = flight.fees
        flight.fees = bumped(old, self._fees(), replace=known)
        try:
            self._broadcast(flight)
        except Web3RPCError as err:
            flight.hashes.pop()  # refused: that signature can never be mined
            message = str(err).lower()
            if "nonce too low" in message:
                return  # mined meanwhile: the next poll finds the receipt
            if "underpriced" in message or "already known" in message:
                return  # the next round bumps again
            raise ChainError(f"{flight.label}: the node rejected the resend: {err}") from err
        if known:
            log.warning(
                "%s: nonce %d pending for %.0f s, replaced with fees %s (were %s)",
                flight.label,
                flight.nonce,
                self._replace_after,
                flight.fees,
                old,
            )
        else:
            log.warning("%s: the node lost nonce %d, sent it again", flight.label, flight.nonce)

    def _known(self, tx_hash: HexBytes) -> bool:
        try:
            self._w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return True

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
