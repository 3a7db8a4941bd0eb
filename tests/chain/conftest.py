"""Chain fixtures: the protocol deployed once per session on the shared Anvil, funded parties,
and per-test ``Protocol`` handles (fresh nonce tracking after each snapshot revert)."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.deploy import Deployment, DeploymentParams, deploy_protocol, write_deployment
from node.chain.protocol import Protocol
from node.chain.reverts import RevertDecoder, project_decoder
from node.chain.tx import TxSender
from node.chain.units import CROWD

FUNDS = 1_000_000 * CROWD


@pytest.fixture(scope="session")
def decoder(compiled: list[str]) -> RevertDecoder:
    return project_decoder()


@pytest.fixture(scope="session")
def deployments_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deployments")


@pytest.fixture(scope="session")
def deployment(
    w3: Web3,
    dev_accounts: list[LocalAccount],
    decoder: RevertDecoder,
    deployments_dir: Path,
) -> Deployment:
    """Deployed before any test's snapshot, so every test starts from it; parties 1-4 funded."""
    owner = dev_accounts[0]
    deployed = deploy_protocol(TxSender(w3, owner, decoder), DeploymentParams())
    write_deployment(deployed, deployments_dir)
    protocol = Protocol.from_deployment(w3, deployed, owner, decoder=decoder)
    for account in dev_accounts[1:5]:
        protocol.token.mint(account.address, FUNDS)
    return deployed


def _protocol(
    w3: Web3, deployment: Deployment, account: LocalAccount, decoder: RevertDecoder
) -> Protocol:
    return Protocol.from_deployment(w3, deployment, account, decoder=decoder)


@pytest.fixture
def owner(
    chain: Web3, deployment: Deployment, dev_accounts: list[LocalAccount], decoder: RevertDecoder
) -> Protocol:
    return _protocol(chain, deployment, dev_accounts[0], decoder)


@pytest.fixture
def submitter(
    chain: Web3, deployment: Deployment, dev_accounts: list[LocalAccount], decoder: RevertDecoder
) -> Protocol:
    return _protocol(chain, deployment, dev_accounts[1], decoder)


@pytest.fixture
def solver(
    chain: Web3, deployment: Deployment, dev_accounts: list[LocalAccount], decoder: RevertDecoder
) -> Protocol:
    return _protocol(chain, deployment, dev_accounts[2], decoder)
