"""EventPoller: chain order, each event once, nothing newer than the safe head."""

from __future__ import annotations

import pytest
from chain_helpers import claim_and_commit, post

from node.chain.client import mine
from node.chain.events import JobClaimed, JobCommitted, JobPosted, Staked
from node.chain.poller import EventPoller
from node.chain.protocol import Protocol
from node.chain.units import CROWD

pytestmark = pytest.mark.chain


def test_poller_respects_confirmations(submitter: Protocol, solver: Protocol) -> None:
    w3 = submitter.w3
    poller = EventPoller(
        w3,
        [submitter.market, submitter.registry],
        start_block=w3.eth.block_number + 1,
        confirmations=2,
    )
    posted = post(submitter)
    assert poller.poll() == []  # 0 confirmations so far
    mine(w3, 1)
    assert poller.poll() == []  # 1 confirmation
    mine(w3, 1)
    assert poller.poll() == [posted]
    assert poller.poll() == []  # returned once
    assert poller.next_block == posted.block_number + 1


def test_poller_orders_events_across_contracts(submitter: Protocol, solver: Protocol) -> None:
    w3 = submitter.w3
    poller = EventPoller(
        w3, [submitter.market, submitter.registry], start_block=w3.eth.block_number + 1, max_range=2
    )
    posted = post(submitter)
    solver.stake(200 * CROWD)
    claim_and_commit(solver, posted.job_id)
    kinds = [
        type(e)
        for e in poller.poll()
        if isinstance(e, JobPosted | Staked | JobClaimed | JobCommitted)
    ]
    assert kinds == [JobPosted, Staked, JobClaimed, JobCommitted]
    assert poller.next_block == w3.eth.block_number + 1
