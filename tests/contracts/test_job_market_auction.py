"""JobMarket's ascending-price auction (docs/MARKET.md, "Pricing"; issue 15 part 2).

The offer rises from the floor to the cap over the ramp; the first claim fixes the price, credits
``cap - price`` to the submitter at once and locks twice the price. The chain's price is compared
with ``node.chain.pricing.offer_at`` at every probed second, so the daemon, the market view and the
bench price exactly as the contract does.
"""

from __future__ import annotations

from typing import Any

import pytest
from protocol_kit import CHALLENGE_WINDOW, ETHER, MIN_SOLVER_STAKE, REVEAL_PHASE, JobStatus
from protocol_world import Trace, World
from rounds_kit import UNIT_REWARD, post_rounds, units

from node.chain.pricing import offer_at

pytestmark = pytest.mark.chain

CAP, FLOOR, RAMP, FEE = 200 * ETHER, 80 * ETHER, 1_000, 2 * ETHER


def post_auction(
    world: World,
    submitter: str,
    *,
    cap: int = CAP,
    floor: int = FLOOR,
    ramp: int = RAMP,
    min_finalized: int = 0,
) -> tuple[int, int]:
    """Post a job whose offer ramps from ``floor`` to ``cap``; return its id and ramp start."""
    job_id, receipt = world.post(
        submitter, reward=cap, verifier_fee=FEE, terms=(floor, ramp, min_finalized)
    )
    return job_id, int(world.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def lock_for(price: int) -> int:
    return max(MIN_SOLVER_STAKE, 2 * price)


def claim_at(world: World, job_id: int, solver: str, timestamp: int) -> Any:
    world.set_next_timestamp(timestamp)
    return world.send(world.market.functions.claimJob(job_id), solver)


def terms(world: World, job_id: int) -> tuple[int, int, int, int, int]:
    return tuple(world.market.functions.termsOf(job_id).call())  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("floor", "cap", "ramp"),
    [(FLOOR, CAP, RAMP), (7, 1_000_003, 997), (1, 2, 3), (ETHER + 1, 3 * ETHER - 1, 86_399)],
    ids=["tokens", "odd-wei", "tiny", "day"],
)
def test_price_along_the_ramp_is_pricing_offer_at(
    world: World, submitter: str, floor: int, cap: int, ramp: int
) -> None:
    job_id, start = post_auction(world, submitter, cap=cap, floor=floor, ramp=ramp)
    assert terms(world, job_id) == (floor, cap, start, ramp, 0)
    market = world.market.functions
    for dt in sorted({0, 1, ramp // 3, ramp // 2 + 1, ramp - 1, ramp, ramp + 7}):
        if dt:
            world.mine_at(start + dt)
        expected = offer_at(floor, cap, start, ramp, start + dt)
        assert market.currentPrice(job_id).call() == expected, f"t = start + {dt}"
        assert market.solverLockOf(job_id).call() == lock_for(expected)
    assert market.currentPrice(job_id).call() == cap


def test_claim_fixes_the_price_refunds_the_submitter_and_scales_the_lock(
    world: World, submitter: str, solver: str
) -> None:
    job_id, start = post_auction(world, submitter)
    world.stake(solver, lock_for(CAP))
    price = offer_at(FLOOR, CAP, start, RAMP, start + 250)
    assert price == 110 * ETHER
    receipt = claim_at(world, job_id, solver, start + 250)
    assert world.logs(receipt) == [
        ("Credited", {"account": submitter, "amount": CAP - price}),
        (
            "JobClaimed",
            {
                "jobId": job_id,
                "solver": solver,
                "attempt": 0,
                "lockedStake": 2 * price,
                "solveDeadline": start + 250 + 3_600,
                "price": price,
            },
        ),
        ("StakeLocked", {"account": solver, "amount": 2 * price}),
    ]
    job = world.job(job_id)
    assert (job.reward, job.status) == (price, JobStatus.CLAIMED)
    assert world.credit(submitter) == CAP - price
    assert world.stake_info(solver)[:2] == (lock_for(CAP), 2 * price)
    market = world.market.functions
    assert market.currentPrice(job_id).call() == price
    assert terms(world, job_id) == (FLOOR, price, start, RAMP, 0)

    trace = Trace.make(job_id, 0, job.num_segments)
    world.send(market.commitTrace(*trace.args(job_id)), solver)
    world.advance(CHALLENGE_WINDOW + REVEAL_PHASE + 1)
    world.send(market.finalizeJob(job_id), solver)
    # the solver earns the price, the submitter gets the refund plus the unpaid verifier fee
    assert (world.credit(solver), world.credit(submitter)) == (price, CAP - price + FEE)
    assert world.stake_info(solver)[:2] == (lock_for(CAP), 0)
    world.send(market.withdraw(), solver)
    world.send(market.withdraw(), submitter)
    assert world.balance(solver) == price
    assert world.balance(submitter) == CAP + FEE - price  # funded cap + fee to post
    assert world.balance(market.address) == 0 == market.totalLiabilities().call()


def test_a_claim_racing_the_end_of_the_ramp(world: World, submitter: str) -> None:
    """One second before the ramp's end the offer is still below the cap; two claims sent into the
    block that ends the ramp: the first mined wins at the cap, the second reverts."""
    first, second = world.accounts[4], world.accounts[5]
    for solver in (first, second):
        world.stake(solver, lock_for(CAP))
    early, start = post_auction(world, submitter)
    claim_at(world, early, first, start + RAMP - 1)
    early_price = offer_at(FLOOR, CAP, start, RAMP, start + RAMP - 1)
    assert FLOOR < early_price < CAP
    assert world.job(early).reward == early_price
    assert world.credit(submitter) == CAP - early_price

    raced, start = post_auction(world, submitter)
    w3 = world.w3
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        sent = [
            world.market.functions.claimJob(raced).transact({"from": who, "gas": 500_000})
            for who in (second, first)
        ]
        world.mine_at(start + RAMP)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    won, lost = (w3.eth.wait_for_transaction_receipt(tx) for tx in sent)
    assert (won["blockNumber"], won["status"], lost["status"]) == (lost["blockNumber"], 1, 0)
    claimed = [event for name, event in world.logs(won) if name == "JobClaimed"]
    assert [(e["solver"], e["price"]) for e in claimed] == [(second, CAP)]
    assert world.credit(submitter) == CAP - early_price  # a claim at the cap refunds nothing
    assert world.stake_info(first)[1] == 2 * early_price
    world.assert_balances_match()


def test_timeout_restarts_the_ramp_from_the_floor_to_the_price(
    world: World, submitter: str, solver: str, stranger: str
) -> None:
    job_id, start = post_auction(world, submitter)
    world.stake(solver, lock_for(CAP))
    world.stake(stranger, lock_for(CAP))
    first_price = offer_at(FLOOR, CAP, start, RAMP, start + 500)
    claim_at(world, job_id, solver, start + 500)
    world.set_next_timestamp(start + 500 + 3_601)
    reclaim = world.send(world.market.functions.reclaimTimedOut(job_id), stranger)
    reopened_at = int(world.w3.eth.get_block(reclaim["blockNumber"])["timestamp"])
    burned = 2 * first_price // 10
    assert world.stake_info(solver)[:2] == (lock_for(CAP) - burned, 0)
    # the cap is now the abandoned claim's price: cap - that price went back at the claim
    assert terms(world, job_id) == (FLOOR, first_price, reopened_at, RAMP, 0)
    assert world.market.functions.currentPrice(job_id).call() == FLOOR

    second_price = offer_at(FLOOR, first_price, reopened_at, RAMP, reopened_at + 400)
    receipt = claim_at(world, job_id, stranger, reopened_at + 400)
    assert second_price == 104 * ETHER
    assert [e["price"] for n, e in world.logs(receipt) if n == "JobClaimed"] == [second_price]
    assert world.credit(submitter) == CAP - second_price
    assert world.job(job_id).reward == second_price
    assert world.stake_info(stranger)[1] == 2 * second_price


def test_abort_below_the_floor_leaves_a_fixed_price(
    world: World, submitter: str, solver: str, stranger: str, dispute_game: str
) -> None:
    """An upheld dataset claim pays its fees from the escrow (fee first, then reward); a reward
    left below the floor reopens at a fixed price rather than ramping downwards."""
    job_id, start = post_auction(world, submitter)
    world.stake(solver, lock_for(CAP))
    claim_at(world, job_id, solver, start + 1)
    price = offer_at(FLOOR, CAP, start, RAMP, start + 1)
    paid = FEE + price - FLOOR + 5 * ETHER
    world.send(world.market.functions.abortJob(job_id, [stranger], [paid]), dispute_game)
    left = FLOOR - 5 * ETHER
    assert world.job(job_id).reward == left
    assert terms(world, job_id) == (left, left, 0, 0, 0)
    assert world.market.functions.currentPrice(job_id).call() == left


def test_terms_out_of_range_are_refused(world: World, submitter: str) -> None:
    market = world.market.functions
    args = (b"\x11" * 32, 32, 4, CAP, FEE, 3_600, 1_000)
    for floor in (0, CAP + 1):
        world.expect_revert(
            market.postJobWithTerms(*args, (floor, RAMP, 0)),
            submitter,
            "JobMarketInvalidTerms",
            floor,
            CAP,
        )
    assert market.jobCount().call() == 0


def test_floor_equal_to_cap_is_a_fixed_price(world: World, submitter: str, solver: str) -> None:
    job_id, start = post_auction(world, submitter, floor=CAP)
    assert terms(world, job_id) == (CAP, CAP, 0, 0, 0)
    world.stake(solver, lock_for(CAP))
    receipt = claim_at(world, job_id, solver, start + 1)
    assert [n for n, _ in world.logs(receipt)] == ["JobClaimed", "StakeLocked"]
    assert world.credit(submitter) == 0


def test_rounds_units_are_priced_by_the_ramp(world: World, submitter: str, solver: str) -> None:
    unit_floor, unit_ramp = 4 * ETHER, 600
    rounds_id, receipt = post_rounds(
        world, submitter, workers=2, rounds=1, quorum=1, unit_floor=unit_floor, unit_ramp=unit_ramp
    )
    opened = int(world.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    first, other = units(world, rounds_id, 0)
    for unit in (first, other):
        assert terms(world, unit) == (unit_floor, UNIT_REWARD, opened, unit_ramp, 0)
    world.stake(solver, MIN_SOLVER_STAKE)
    world.mine_at(opened + 150)
    assert world.market.functions.currentPrice(first).call() == 55 * ETHER // 10
    price = offer_at(unit_floor, UNIT_REWARD, opened, unit_ramp, opened + 151)
    claim_at(world, first, solver, opened + 151)
    assert world.job(first).reward == price == 551 * ETHER // 100
    assert world.credit(submitter) == UNIT_REWARD - price
    world.mine_at(opened + unit_ramp)
    assert world.market.functions.currentPrice(other).call() == UNIT_REWARD
