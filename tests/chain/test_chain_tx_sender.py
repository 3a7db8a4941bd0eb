"""TxSender: nonces over quick sequences, revert decoding at estimate and after mining, dead RPCs."""

from __future__ import annotations

import time

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.anvil import free_port
from node.chain.client import connect
from node.chain.protocol import Protocol
from node.chain.reverts import RevertDecoder
from node.chain.tx import TxSender
from node.chain.units import CROWD
from node.errors import RpcUnreachableError, TransactionRevertedError

pytestmark = pytest.mark.chain


def test_many_quick_transactions_get_consecutive_nonces(
    submitter: Protocol, dev_accounts: list[LocalAccount]
) -> None:
    w3, me = submitter.w3, submitter.address
    start = w3.eth.get_transaction_count(me)
    recipient = dev_accounts[9].address
    before = submitter.token.balance_of(recipient)
    sent = [submitter.token.transfer(recipient, CROWD) for _ in range(5)]
    assert [w3.eth.get_transaction(s.tx_hash)["nonce"] for s in sent] == list(
        range(start, start + 5)
    )
    assert submitter.token.balance_of(recipient) == before + 5 * CROWD


def test_pipelined_submits_then_waits(
    submitter: Protocol, dev_accounts: list[LocalAccount]
) -> None:
    assert submitter.sender is not None
    token = submitter.token
    data = token.contract.encode_abi("transfer", args=[dev_accounts[8].address, CROWD])
    pending = [submitter.sender.submit(token.address, data, label="transfer") for _ in range(4)]
    receipts = [submitter.sender.wait(p).receipt for p in pending]
    assert all(r["status"] == 1 for r in receipts)


def test_nonce_resyncs_after_another_sender_used_the_account(
    chain: Web3, submitter: Protocol, dev_accounts: list[LocalAccount], decoder: RevertDecoder
) -> None:
    submitter.token.transfer(dev_accounts[9].address, CROWD)  # caches the nonce
    other = Protocol.from_deployment(chain, submitter.deployment, dev_accounts[1], decoder=decoder)
    other.token.transfer(dev_accounts[9].address, CROWD)  # the cached nonce is now stale
    submitter.token.transfer(dev_accounts[9].address, CROWD)  # "nonce too low" -> resync -> ok


def test_revert_at_estimate_names_the_custom_error(submitter: Protocol, solver: Protocol) -> None:
    job = {"spec_hash": b"\x01" * 32, "steps": 8, "checkpoint_every": 2, "verifier_fee": 0,
           "solve_timeout": 600, "sample_rate_bps": 1_000}  # fmt: skip
    with pytest.raises(TransactionRevertedError) as zero:
        submitter.market.post_job(reward=0, **job)
    assert zero.value.error_name == "JobMarketZeroReward"

    with pytest.raises(TransactionRevertedError) as allowance:
        submitter.market.post_job(reward=CROWD, **job)
    assert allowance.value.error_name == "JobMarketInsufficientAllowance"
    assert allowance.value.error_args == (0, CROWD)
    assert "JobMarketInsufficientAllowance(allowance=0" in str(allowance.value)

    with pytest.raises(TransactionRevertedError) as erc20:
        solver.registry.stake(CROWD)  # no approval: OpenZeppelin's ERC20 error through SafeERC20
    assert erc20.value.error_name == "ERC20InsufficientAllowance"


def test_revert_after_mining_is_decoded(submitter: Protocol) -> None:
    assert submitter.sender is not None
    market = submitter.market
    data = market.contract.encode_abi("cancelJob", args=[12345])
    with pytest.raises(TransactionRevertedError) as mined:
        submitter.sender.send(market.address, data, gas=200_000, label="cancelJob")
    assert mined.value.error_name == "JobMarketUnknownJob"
    assert "mined in block" in str(mined.value)


def test_reads_decode_reverts_too(submitter: Protocol) -> None:
    with pytest.raises(TransactionRevertedError) as unknown:
        submitter.market.get_job(999)
    assert unknown.value.error_name == "JobMarketUnknownJob"


def test_sender_never_shows_its_key(submitter: Protocol, dev_accounts: list[LocalAccount]) -> None:
    key = dev_accounts[1].key.hex().removeprefix("0x")
    assert key not in repr(submitter.sender)
    assert key not in repr(submitter)


def test_dead_rpc_fails_fast_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(RpcUnreachableError, match=url.replace(".", r"\.")):
        connect(url)
    assert time.monotonic() - started < 5


def test_tx_sender_signs_with_the_right_chain_id(
    chain: Web3, dev_accounts: list[LocalAccount], decoder: RevertDecoder
) -> None:
    sender = TxSender(chain, dev_accounts[5], decoder)
    sent = sender.send(dev_accounts[6].address, b"", value=1, label="eth transfer")
    assert chain.eth.get_transaction(sent.tx_hash)["chainId"] == chain.eth.chain_id
