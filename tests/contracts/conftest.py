"""Fixtures of the contract tests: a fresh protocol per test, inside the chain snapshot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account.signers.local import LocalAccount
from protocol_world import World
from web3 import Web3


@pytest.fixture
def world(chain: Web3, dev_accounts: list[LocalAccount]) -> Iterator[World]:
    """Token, registry and market deployed by account 0; account 9 plays the dispute game.

    After the test, the solvency invariant is checked with an independent recount.
    """
    deployed = World.deploy(chain, [a.address for a in dev_accounts])
    yield deployed
    deployed.assert_solvent()


@pytest.fixture
def owner(world: World) -> str:
    return world.owner


@pytest.fixture
def submitter(world: World) -> str:
    return world.accounts[1]


@pytest.fixture
def solver(world: World) -> str:
    return world.accounts[2]


@pytest.fixture
def stranger(world: World) -> str:
    return world.accounts[3]


@pytest.fixture
def dispute_game(world: World) -> str:
    return world.dispute_game


@pytest.fixture
def game_world(chain: Web3, dev_accounts: list[LocalAccount]) -> Iterator[World]:
    """The full protocol: DisputeGame and Jury wired in; solvency checked after the test."""
    deployed = World.deploy(chain, [a.address for a in dev_accounts], full=True)
    yield deployed
    deployed.assert_solvent()
