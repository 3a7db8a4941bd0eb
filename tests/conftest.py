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


SESSION_CALIBRATION = {"native": 1e10, "repro-v1": 3e9}
"""FLOP/s of the calibration every test's nodes read (a 2-core machine's order of magnitude)."""
SESSION_OVERHEAD = {"native": 0.005, "repro-v1": 0.015}


@pytest.fixture(scope="session", autouse=True)
def session_calibration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One fixed throughput calibration for every node the tests start, in-process or not.

    A solver daemon judges each job's expected time against its solve timeout from this
    machine's calibration. Measured under the suite's own load it moves 2-3x between runs, which
    would make "does this job fit in time" flaky and cost every fresh process 10-20 s of timing.
    The tests that check the measurement itself (tests/training/test_estimate.py,
    tests/solver/test_capability.py) point at their own folders."""
    import os

    import torch

    from node.training.calibrate import Calibration, save_calibration

    folder = tmp_path_factory.mktemp("calibration")
    before = torch.get_num_threads()
    try:
        for threads in range(1, max(8, os.cpu_count() or 1) + 1):
            torch.set_num_threads(threads)
            save_calibration(folder, Calibration("cpu", SESSION_CALIBRATION, SESSION_OVERHEAD))
    finally:
        torch.set_num_threads(before)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CROWDTRAIN_CALIBRATION_DIR", str(folder))
        yield
