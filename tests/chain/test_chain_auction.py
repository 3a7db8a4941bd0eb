"""The auction and track record through the typed adapters (what the daemon, the market view and the
bench call): terms and offers read back as ``JobTerms`` and prices equal to ``pricing.offer_at``,
``JobClaimed.price``, ``SolverRecord``, and bad terms refused before any transaction."""

from __future__ import annotations

import pytest
from chain_helpers import REWARD, commitment_for, post

from node.chain.client import chain_time, increase_time
from node.chain.pricing import offer_at
from node.chain.protocol import Protocol
from node.chain.types import JobTerms, SolverRecord, Wei
from node.chain.units import CROWD

pytestmark = pytest.mark.chain


def test_a_ramped_job_through_the_adapters(submitter: Protocol, solver: Protocol) -> None:
    floor, ramp = Wei(REWARD // 4), 900
    posted = post(submitter, "auction", floor=floor, ramp=ramp)
    market = solver.market
    terms = market.terms_of(posted.job_id)
    assert terms == JobTerms(floor, REWARD, terms.ramp_start, ramp, 0) and not terms.fixed
    increase_time(solver.w3, 300)
    now = chain_time(solver.w3)
    assert market.current_price(posted.job_id) == offer_at(
        floor, REWARD, terms.ramp_start, ramp, now
    )

    solver.stake(500 * CROWD)
    before = submitter.market.credit_of(submitter.address)
    claimed = market.claim_job(posted.job_id)
    price = offer_at(floor, REWARD, terms.ramp_start, ramp, chain_time(solver.w3))
    assert floor < claimed.price == price < REWARD
    assert submitter.market.credit_of(submitter.address) - before == REWARD - price
    assert market.current_price(posted.job_id) == price

    commitment, proof = commitment_for(posted.job_id, claimed.attempt)
    market.commit_trace(posted.job_id, commitment, proof)
    increase_time(solver.w3, market.challenge_window() + market.reveal_phase() + 1)
    market.finalize_job(posted.job_id)
    assert market.record_of(solver.address) == SolverRecord(1, Wei(price), 0, 0)


def test_a_plain_post_stays_a_fixed_price(submitter: Protocol) -> None:
    posted = post(submitter, "fixed")
    assert submitter.market.terms_of(posted.job_id) == JobTerms(REWARD, REWARD, 0, 0, 0)
    assert submitter.market.current_price(posted.job_id) == REWARD


@pytest.mark.parametrize(
    ("floor", "ramp", "message"),
    [(0, 60, "above 0"), (REWARD + 1, 60, "at most the reward"), (REWARD // 2, 0, "needs a ramp")],
)
def test_bad_terms_are_refused_before_sending(
    submitter: Protocol, floor: int, ramp: int, message: str
) -> None:
    count = submitter.market.job_count()
    allowance = submitter.token.allowance(submitter.address, submitter.market.address)
    with pytest.raises(ValueError, match=message):
        post(submitter, "bad", floor=floor, ramp=ramp)
    assert submitter.market.job_count() == count
    assert submitter.token.allowance(submitter.address, submitter.market.address) == allowance
