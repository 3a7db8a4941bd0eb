"""What ``TxSender`` remembers about its transactions until they are mined, and the fee bump that
replaces a stuck one.

A transaction can stay pending for reasons that are nobody's fault: its fee fell below a rising
base fee, the node restarted and forgot its pool, an earlier nonce of ours was dropped and left a
gap. Each signed transaction is kept (fields, gas, fees, every hash sent for its nonce) so the
sender can send it again — the same fees while the node has forgotten it, fees bumped past the
node's replacement threshold while it sits in the pool — without ever using a new nonce for the
same action (which could execute it twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes

REPLACEMENT_BUMP = 1.125
"""Nodes accept a replacement only above +10 % on every fee field (geth, Anvil); 12.5 % clears it."""


@dataclass
class InFlight:
    """One nonce of ours, sent but not yet seen mined."""

    nonce: int
    tx: dict[str, Any]
    """the unsigned fields (to, data, value) without nonce, gas or fees."""
    gas: int
    label: str
    fees: dict[str, int]
    sent_at: float
    hashes: list[HexBytes] = field(default_factory=list)
    nonce_used_since: float | None = None
    """when the chain's nonce first passed ours without a receipt of any of our hashes."""


def bumped(old: dict[str, int], fresh: dict[str, int], *, replace: bool = True) -> dict[str, int]:
    """Fees for sending ``old`` again: at least what the chain asks now (``fresh``, so it can be
    mined) and, for a ``replace``ment of one the node still holds, at least ``REPLACEMENT_BUMP``
    times each old field (so the node accepts it over the stuck one)."""

    def up(value: int) -> int:
        return int(value * REPLACEMENT_BUMP) + 1 if replace else value

    if "gasPrice" in old:
        return {"gasPrice": max(up(old["gasPrice"]), fresh.get("gasPrice", 0))}
    tip = max(up(old["maxPriorityFeePerGas"]), fresh.get("maxPriorityFeePerGas", 0))
    cap = max(up(old["maxFeePerGas"]), fresh.get("maxFeePerGas", 0), tip)
    return {"maxFeePerGas": cap, "maxPriorityFeePerGas": tip}
