"""node.chain.pricing: the auction's price function as the daemon, the view and the bench use it.

Bit-exactness against the contract is proven on Anvil (tests/contracts/test_job_market_auction.py);
here the properties every caller relies on: the offer stays within [floor, cap], never falls, and
``time_to_offer`` names the first second the offer reaches a target.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node.chain.pricing import offer_at, price_per_pflop, time_to_offer

WEI = st.integers(min_value=1, max_value=2**96 - 1)
RAMP = st.integers(min_value=0, max_value=2**32 - 1)
START = st.integers(min_value=0, max_value=2**40 - 1)


def test_offer_along_a_ramp() -> None:
    # floor 4, cap 10 over 600 s: +1 wei per 100 s, rounded down; the cap from the ramp's end on
    assert [offer_at(4, 10, 1_000, 600, t) for t in (1_000, 1_099, 1_100, 1_599, 1_600, 9_999)] == [
        4,
        4,
        5,
        9,
        10,
        10,
    ]
    assert offer_at(4, 10, 1_000, 600, 500) == 4  # before the ramp starts: the floor
    assert offer_at(4, 10, 1_000, 0, 1_000) == 10  # no ramp: a fixed price at the cap
    assert offer_at(10, 10, 1_000, 600, 1_000) == 10  # floor == cap: a fixed price


@given(floor=WEI, cap=WEI, start=START, ramp=RAMP, dt=st.integers(0, 2**33))
def test_offer_within_floor_and_cap_and_never_falls(
    floor: int, cap: int, start: int, ramp: int, dt: int
) -> None:
    floor = min(floor, cap)
    now = start + dt
    offer = offer_at(floor, cap, start, ramp, now)
    assert floor <= offer <= cap
    assert offer_at(floor, cap, start, ramp, now + 1) >= offer
    if ramp and dt >= ramp:
        assert offer == cap


@given(floor=WEI, cap=WEI, start=START, ramp=RAMP, target=WEI)
def test_time_to_offer_is_the_first_second_the_offer_reaches_the_target(
    floor: int, cap: int, start: int, ramp: int, target: int
) -> None:
    floor = min(floor, cap)
    at = time_to_offer(floor, cap, start, ramp, target)
    if target > cap:
        assert at is None
        return
    assert at is not None
    assert offer_at(floor, cap, start, ramp, at) >= target
    if at > start:
        assert offer_at(floor, cap, start, ramp, at - 1) < target


def test_price_per_pflop_in_tokens() -> None:
    assert price_per_pflop(3 * 10**18, 1.5) == 2.0
    assert price_per_pflop(10**18, 0.0) == float("inf")
