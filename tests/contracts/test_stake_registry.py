"""StakeRegistry: staking, unbonding, and the protocol-only lock/unlock/slash/burn."""

from __future__ import annotations

import pytest
from protocol_kit import DEAD, ETHER, UNBONDING_PERIOD
from protocol_world import World

pytestmark = pytest.mark.chain


@pytest.fixture
def protocol(world: World, stranger: str, owner: str) -> str:
    """``stranger`` allowed as a protocol contract, to drive lock/unlock/slash/burn directly."""
    world.send(world.registry.functions.setProtocolContract(stranger, True), owner)
    return stranger


@pytest.fixture
def staker(world: World) -> str:
    account = world.accounts[5]
    world.stake(account, 100 * ETHER)
    return account


def test_views(world: World, owner: str) -> None:
    registry = world.registry.functions
    assert registry.token().call() == world.token.address
    assert registry.unbondingPeriod().call() == UNBONDING_PERIOD
    assert registry.owner().call() == owner
    assert registry.totalStaked().call() == 0
    assert registry.isProtocolContract(world.market.address).call()


def test_stake(world: World) -> None:
    account = world.accounts[5]
    world.fund(account, 30 * ETHER)
    world.send(world.token.functions.approve(world.registry.address, 30 * ETHER), account)
    receipt = world.send(world.registry.functions.stake(10 * ETHER), account)
    assert world.logs(receipt) == [
        ("Staked", {"account": account, "amount": 10 * ETHER, "totalStaked": 10 * ETHER}),
        ("Transfer", {"from": account, "to": world.registry.address, "value": 10 * ETHER}),
    ]
    receipt = world.send(world.registry.functions.stake(20 * ETHER), account)
    assert world.logs(receipt)[0] == (
        "Staked",
        {"account": account, "amount": 20 * ETHER, "totalStaked": 30 * ETHER},
    )
    assert world.stake_info(account) == (30 * ETHER, 0, 0, 0)
    assert world.balance(account) == 0
    assert world.balance(world.registry.address) == 30 * ETHER
    assert world.registry.functions.freeStakeOf(account).call() == 30 * ETHER


def test_stake_reverts(world: World, stranger: str) -> None:
    stake = world.registry.functions.stake
    world.expect_revert(stake(0), stranger, "StakeRegistryZeroAmount")
    world.fund(stranger, 5)
    world.expect_revert(
        stake(5), stranger, "ERC20InsufficientAllowance", world.registry.address, 0, 5
    )


def test_request_unstake_and_withdraw(world: World, staker: str) -> None:
    registry = world.registry.functions
    receipt = world.send(registry.requestUnstake(40 * ETHER), staker)
    release = world.now() + UNBONDING_PERIOD
    assert world.logs(receipt) == [
        ("UnstakeRequested", {"account": staker, "amount": 40 * ETHER, "releaseTime": release})
    ]
    assert world.stake_info(staker) == (60 * ETHER, 0, 40 * ETHER, release)
    assert registry.totalStaked().call() == 100 * ETHER

    world.expect_revert(registry.withdraw(), staker, "StakeRegistryNothingToWithdraw", release)
    world.mine_at(release - 1)
    world.expect_revert(registry.withdraw(), staker, "StakeRegistryNothingToWithdraw", release)

    world.set_next_timestamp(release)  # released at exactly releaseTime
    receipt = world.send(registry.withdraw(), staker)
    assert world.logs(receipt) == [
        ("Withdrawn", {"account": staker, "amount": 40 * ETHER}),
        ("Transfer", {"from": world.registry.address, "to": staker, "value": 40 * ETHER}),
    ]
    assert world.stake_info(staker) == (60 * ETHER, 0, 0, 0)
    assert world.balance(staker) == 40 * ETHER
    assert registry.totalStaked().call() == 60 * ETHER
    world.expect_revert(registry.withdraw(), staker, "StakeRegistryNothingToWithdraw", 0)


def test_second_request_adds_and_restarts_the_clock(world: World, staker: str) -> None:
    registry = world.registry.functions
    world.send(registry.requestUnstake(10 * ETHER), staker)
    world.advance(100)
    world.send(registry.requestUnstake(5 * ETHER), staker)
    release = world.now() + UNBONDING_PERIOD
    assert world.stake_info(staker) == (85 * ETHER, 0, 15 * ETHER, release)


def test_request_unstake_reverts(world: World, staker: str, protocol: str) -> None:
    registry = world.registry.functions
    world.expect_revert(registry.requestUnstake(0), staker, "StakeRegistryZeroAmount")
    world.send(registry.lock(staker, 70 * ETHER), protocol)
    world.expect_revert(
        registry.requestUnstake(31 * ETHER),
        staker,
        "StakeRegistryInsufficientFreeStake",
        staker,
        30 * ETHER,
        31 * ETHER,
    )


def test_lock_and_unlock(world: World, staker: str, protocol: str) -> None:
    registry = world.registry.functions
    receipt = world.send(registry.lock(staker, 70 * ETHER), protocol)
    assert world.logs(receipt) == [("StakeLocked", {"account": staker, "amount": 70 * ETHER})]
    assert world.stake_info(staker) == (100 * ETHER, 70 * ETHER, 0, 0)
    assert registry.freeStakeOf(staker).call() == 30 * ETHER
    world.expect_revert(
        registry.lock(staker, 31 * ETHER),
        protocol,
        "StakeRegistryInsufficientFreeStake",
        staker,
        30 * ETHER,
        31 * ETHER,
    )
    receipt = world.send(registry.unlock(staker, 20 * ETHER), protocol)
    assert world.logs(receipt) == [("StakeUnlocked", {"account": staker, "amount": 20 * ETHER})]
    assert world.stake_info(staker) == (100 * ETHER, 50 * ETHER, 0, 0)
    world.expect_revert(
        registry.unlock(staker, 51 * ETHER),
        protocol,
        "StakeRegistryInsufficientLockedStake",
        staker,
        50 * ETHER,
        51 * ETHER,
    )


def test_slash_pays_the_calling_protocol_contract(world: World, staker: str, protocol: str) -> None:
    registry = world.registry.functions
    world.send(registry.lock(staker, 70 * ETHER), protocol)
    receipt = world.send(registry.slash(staker, 30 * ETHER), protocol)
    assert world.logs(receipt) == [
        ("StakeSlashed", {"account": staker, "amount": 30 * ETHER, "recipient": protocol}),
        ("Transfer", {"from": world.registry.address, "to": protocol, "value": 30 * ETHER}),
    ]
    assert world.stake_info(staker) == (70 * ETHER, 40 * ETHER, 0, 0)
    assert world.balance(protocol) == 30 * ETHER
    assert registry.totalStaked().call() == 70 * ETHER
    world.expect_revert(
        registry.slash(staker, 41 * ETHER),
        protocol,
        "StakeRegistryInsufficientLockedStake",
        staker,
        40 * ETHER,
        41 * ETHER,
    )


def test_burn_sends_to_dead(world: World, staker: str, protocol: str) -> None:
    registry = world.registry.functions
    world.send(registry.lock(staker, 70 * ETHER), protocol)
    receipt = world.send(registry.burn(staker, 7 * ETHER), protocol)
    assert world.logs(receipt) == [
        ("StakeBurned", {"account": staker, "amount": 7 * ETHER}),
        ("Transfer", {"from": world.registry.address, "to": DEAD, "value": 7 * ETHER}),
    ]
    assert world.stake_info(staker) == (93 * ETHER, 63 * ETHER, 0, 0)
    assert world.balance(DEAD) == 7 * ETHER
    assert registry.totalStaked().call() == 93 * ETHER
    world.expect_revert(
        registry.burn(staker, 64 * ETHER),
        protocol,
        "StakeRegistryInsufficientLockedStake",
        staker,
        63 * ETHER,
        64 * ETHER,
    )


def test_zero_amount_protocol_calls_change_nothing(
    world: World, staker: str, protocol: str
) -> None:
    registry = world.registry.functions
    for fn in (registry.lock, registry.unlock, registry.slash, registry.burn):
        assert world.logs(world.send(fn(staker, 0), protocol)) == []
    assert world.stake_info(staker) == (100 * ETHER, 0, 0, 0)


def test_protocol_calls_need_authorization(world: World, staker: str, stranger: str) -> None:
    registry = world.registry.functions
    for fn in (registry.lock, registry.unlock, registry.slash, registry.burn):
        world.expect_revert(fn(staker, 1), stranger, "StakeRegistryUnauthorized", stranger)


def test_set_protocol_contract(world: World, owner: str, stranger: str) -> None:
    registry = world.registry.functions
    receipt = world.send(registry.setProtocolContract(stranger, True), owner)
    assert world.logs(receipt) == [
        ("ProtocolContractSet", {"protocolContract": stranger, "allowed": True})
    ]
    assert registry.isProtocolContract(stranger).call()
    receipt = world.send(registry.setProtocolContract(stranger, False), owner)
    assert world.logs(receipt) == [
        ("ProtocolContractSet", {"protocolContract": stranger, "allowed": False})
    ]
    assert not registry.isProtocolContract(stranger).call()
    world.expect_revert(
        registry.setProtocolContract(stranger, True),
        stranger,
        "OwnableUnauthorizedAccount",
        stranger,
    )
