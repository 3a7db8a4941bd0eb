"""The toolchain itself: the solc facade, compilation and the Anvil fixture."""

from __future__ import annotations

import subprocess

from web3 import Web3

from node.chain.compile import FACADE, load_artifact


def test_facade_reports_a_solc_version() -> None:
    out = subprocess.run([str(FACADE), "--version"], capture_output=True, text=True, check=True)
    assert "Version: 0.8." in out.stdout


def test_merkle_harness_is_compiled_with_bytecode() -> None:
    artifact = load_artifact("TraceMerkleHarness")
    assert len(artifact.bytecode) > 100
    assert any(item.get("name") == "root" for item in artifact.abi)


def test_anvil_answers_and_snapshots_revert(chain: Web3, dev_accounts: list) -> None:
    assert chain.eth.chain_id == 31337
    assert chain.eth.get_balance(dev_accounts[0].address) > 0
