"""The JobMarket's ascending-price auction, bit-exact in Python (docs/MARKET.md, "Pricing").

A job escrows a cap; its offer rises linearly from a floor to the cap over ``ramp`` seconds from
``ramp_start`` (the posting time, and again each reopen), and the first claim fixes the price at the
offer. The daemon's policy, the market view and the market bench all price through ``offer_at`` so
that what they predict is what the contract charges: integer arithmetic, rounding down, as
``JobMarket._offer`` does.
"""

from __future__ import annotations

WEI_PER_TOKEN = 10**18


def offer_at(floor: int, cap: int, ramp_start: int, ramp: int, now: int) -> int:
    """The offer a claim mined at ``now`` fixes: ``floor + (cap - floor) * min(now - ramp_start,
    ramp) // ramp``; ``cap`` for a fixed price (``ramp`` 0 or ``floor >= cap``) and ``floor`` before
    the ramp starts (the chain never sees that time; a caller's clock may)."""
    if ramp <= 0 or floor >= cap:
        return cap
    elapsed = min(max(now - ramp_start, 0), ramp)
    return floor + (cap - floor) * elapsed // ramp


def price_per_pflop(price_wei: int, pflop: float) -> float:
    """Tokens (1e18 wei) paid per PFLOP of work at ``price_wei``; ``inf`` for a job of no work."""
    if pflop <= 0:
        return float("inf")
    return price_wei / WEI_PER_TOKEN / pflop


def time_to_offer(floor: int, cap: int, ramp_start: int, ramp: int, target_wei: int) -> int | None:
    """The first chain time at which the offer is at least ``target_wei``; None if it never is
    (target above the cap). At or below the starting offer it is ``ramp_start``."""
    if target_wei > cap:
        return None
    if ramp <= 0 or floor >= cap or target_wei <= floor:
        return ramp_start
    # floor + (cap - floor) * e // ramp >= target  <=>  (cap - floor) * e >= (target - floor) * ramp
    span = cap - floor
    elapsed = -(-(target_wei - floor) * ramp // span)  # ceiling division
    return ramp_start + min(elapsed, ramp)
