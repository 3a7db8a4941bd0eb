"""Faults on the way to a receipt, on a private Anvil of each test's own (they change how it mines,
and one restarts it): a transaction stuck under a risen base fee is replaced with bumped fees, a
dropped nonce that leaves a gap is sent again, and a node restarted from its dumped state (its
pending pool lost) gets the transaction again. Each ends with the payment made exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.anvil import AnvilProcess, start_anvil
from node.chain.client import connect, rpc
from node.chain.reverts import RevertDecoder
from node.chain.tx import PendingTx, TxSender

pytestmark = pytest.mark.chain


@pytest.fixture
def node(tmp_path: Path, compiled: list[str]) -> Iterator[AnvilProcess]:
    anvil = start_anvil(state_file=tmp_path / "state.json")
    try:
        yield anvil
    finally:
        anvil.stop()


def _sender(w3: Web3, account: LocalAccount, decoder: RevertDecoder) -> TxSender:
    return TxSender(w3, account, decoder, replace_after=1.0, receipt_timeout=30, poll_interval=0.1)


def _mined(w3: Web3, pending: PendingTx) -> bool:
    return bool(rpc(w3, "eth_getTransactionReceipt", "0x" + pending.tx_hash.hex()))


def test_tx_stuck_under_a_risen_base_fee_is_replaced_with_bumped_fees(
    node: AnvilProcess, dev_accounts: list[LocalAccount], decoder: RevertDecoder
) -> None:
    w3 = connect(node.rpc_url)
    payer, payee = dev_accounts[1], dev_accounts[9].address
    sender = _sender(w3, payer, decoder)
    before, nonce = w3.eth.get_balance(payee), w3.eth.get_transaction_count(payer.address)
    rpc(w3, "evm_setAutomine", False)
    pending = sender.submit(payee, b"", value=12_345, label="payment")
    offered = int(w3.eth.get_transaction(pending.tx_hash)["maxFeePerGas"])
    rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(4 * offered))
    rpc(w3, "evm_mine")  # the base fee rises past what the transaction offers: it stays pending
    assert not _mined(w3, pending)
    assert w3.eth.get_transaction_count(payer.address) == nonce
    rpc(w3, "evm_setAutomine", True)

    sent = sender.wait(pending)

    assert sent.tx_hash != pending.tx_hash  # a replacement was mined, not the stuck original
    replacement = w3.eth.get_transaction(sent.tx_hash)
    assert replacement["nonce"] == nonce and int(replacement["maxFeePerGas"]) > offered
    assert not _mined(w3, pending)
    assert w3.eth.get_balance(payee) == before + 12_345  # paid exactly once
    assert w3.eth.get_transaction_count(payer.address) == nonce + 1


def test_dropped_nonce_gap_is_filled_by_sending_it_again_at_current_fees(
    node: AnvilProcess, dev_accounts: list[LocalAccount], decoder: RevertDecoder
) -> None:
    w3 = connect(node.rpc_url)
    payer, payee = dev_accounts[2], dev_accounts[9].address
    sender = _sender(w3, payer, decoder)
    before, nonce = w3.eth.get_balance(payee), w3.eth.get_transaction_count(payer.address)
    rpc(w3, "evm_setAutomine", False)
    first = sender.submit(payee, b"", value=1_000, label="first payment")
    second = sender.submit(payee, b"", value=2_000, label="second payment")
    offered = int(w3.eth.get_transaction(first.tx_hash)["maxFeePerGas"])
    rpc(w3, "anvil_dropTransaction", "0x" + first.tx_hash.hex())
    rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(4 * offered))  # and the fees rise meanwhile
    rpc(w3, "evm_setAutomine", True)
    rpc(w3, "evm_mine")  # the second waits behind the gap the dropped first left
    assert not _mined(w3, second)
    assert w3.eth.get_transaction_count(payer.address) == nonce

    sent_second = sender.wait(second)
    sent_first = sender.wait(first)  # found under the hash it was sent again with

    assert sent_first.tx_hash != first.tx_hash and sent_second.tx_hash != second.tx_hash

    assert w3.eth.get_balance(payee) == before + 3_000
    assert w3.eth.get_transaction_count(payer.address) == nonce + 2


def test_node_restarted_from_its_dumped_state_gets_the_lost_tx_again(
    node: AnvilProcess, dev_accounts: list[LocalAccount], decoder: RevertDecoder
) -> None:
    w3 = connect(node.rpc_url)
    payer, payee = dev_accounts[3], dev_accounts[9].address
    sender = _sender(w3, payer, decoder)
    rpc(w3, "evm_increaseTime", 10_000)
    rpc(w3, "evm_mine")
    clock = int(w3.eth.get_block("latest")["timestamp"])
    before, nonce = w3.eth.get_balance(payee), w3.eth.get_transaction_count(payer.address)
    rpc(w3, "evm_setAutomine", False)
    pending = sender.submit(payee, b"", value=777, label="payment")
    node.stop()  # the endpoint goes away with the transaction in its pool
    back = threading.Timer(1.5, node.relaunch)
    back.start()
    started = time.monotonic()
    try:
        sent = sender.wait(pending)
    finally:
        back.join()
    assert time.monotonic() - started >= 1.5  # it waited the outage out
    assert sent.tx_hash == pending.tx_hash  # the same signed transaction, sent again
    assert w3.eth.get_balance(payee) == before + 777
    assert w3.eth.get_transaction_count(payer.address) == nonce + 1
    assert int(w3.eth.get_block("latest")["timestamp"]) > clock  # time did not run backwards
