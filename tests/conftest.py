"""Shared fixtures: one Anvil per test session, a snapshot/revert around each chain test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.anvil import DEV_MNEMONIC, AnvilProcess, start_anvil
from node.chain.compile import compile_contracts

Account.enable_unaudited_hdwallet_features()


@pytest.fixture(scope="session")
def compiled() -> list[str]:
    return compile_contracts()


@pytest.fixture(scope="session")
def anvil(compiled: list[str]) -> Iterator[AnvilProcess]:
    node = start_anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def w3(anvil: AnvilProcess) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))


@pytest.fixture(scope="session")
def dev_accounts() -> list[LocalAccount]:
    """Anvil's 20 funded dev accounts, derived from its default mnemonic."""
    return [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(20)
    ]


@pytest.fixture
def chain(w3: Web3) -> Iterator[Web3]:
    """The session's chain, reverted to its state before the test when the test ends."""
    snapshot: Any = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield w3
    finally:
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
