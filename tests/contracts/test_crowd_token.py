"""CrowdToken: metadata, owner-only minting, EIP-2612 permits."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from protocol_kit import ETHER
from protocol_world import World

pytestmark = pytest.mark.chain

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_metadata_and_owner(world: World, owner: str) -> None:
    token = world.token.functions
    assert token.name().call() == "Crowd Token"
    assert token.symbol().call() == "CROWD"
    assert token.decimals().call() == 18
    assert token.owner().call() == owner
    assert token.totalSupply().call() == 0


def test_owner_mints(world: World, owner: str, stranger: str) -> None:
    receipt = world.send(world.token.functions.mint(stranger, 5 * ETHER), owner)
    assert world.logs(receipt) == [
        ("Transfer", {"from": ZERO_ADDRESS, "to": stranger, "value": 5 * ETHER})
    ]
    assert world.balance(stranger) == 5 * ETHER
    assert world.token.functions.totalSupply().call() == 5 * ETHER


def test_only_owner_mints(world: World, stranger: str) -> None:
    world.expect_revert(
        world.token.functions.mint(stranger, 1), stranger, "OwnableUnauthorizedAccount", stranger
    )


def _permit_signature(
    world: World, signer: LocalAccount, holder: str, spender: str, value: int, deadline: int
) -> tuple[int, bytes, bytes]:
    nonce = world.token.functions.nonces(holder).call()
    signed = signer.sign_typed_data(
        domain_data={
            "name": "Crowd Token",
            "version": "1",
            "chainId": world.w3.eth.chain_id,
            "verifyingContract": world.token.address,
        },
        message_types={
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ]
        },
        message_data={
            "owner": holder,
            "spender": spender,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def test_permit_sets_allowance(
    world: World, dev_accounts: list[LocalAccount], stranger: str
) -> None:
    holder = dev_accounts[4]
    deadline = world.now() + 1_000
    v, r, s = _permit_signature(
        world, holder, holder.address, world.market.address, 7 * ETHER, deadline
    )
    permit = world.token.functions.permit(
        holder.address, world.market.address, 7 * ETHER, deadline, v, r, s
    )
    receipt = world.send(permit, stranger)  # anyone may relay a permit
    assert world.logs(receipt) == [
        ("Approval", {"owner": holder.address, "spender": world.market.address, "value": 7 * ETHER})
    ]
    assert world.token.functions.allowance(holder.address, world.market.address).call() == 7 * ETHER
    assert world.token.functions.nonces(holder.address).call() == 1


def test_permit_rejects_expired_and_forged(
    world: World, dev_accounts: list[LocalAccount], stranger: str
) -> None:
    holder = dev_accounts[4]
    past = world.now() - 1
    v, r, s = _permit_signature(world, holder, holder.address, stranger, 1, past)
    expired = world.token.functions.permit(holder.address, stranger, 1, past, v, r, s)
    world.expect_revert(expired, stranger, "ERC2612ExpiredSignature", past)

    deadline = world.now() + 1_000
    v, r, s = _permit_signature(world, dev_accounts[5], holder.address, stranger, 1, deadline)
    forged = world.token.functions.permit(holder.address, stranger, 1, deadline, v, r, s)
    world.expect_revert(
        forged, stranger, "ERC2612InvalidSigner", dev_accounts[5].address, holder.address
    )
