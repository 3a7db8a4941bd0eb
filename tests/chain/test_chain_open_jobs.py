"""The solver's open-job tracker follows the logs: the jobs it offers are exactly the open ones."""

from __future__ import annotations

import pytest
from chain_helpers import SOLVE_TIMEOUT, post

from node.chain.client import increase_time
from node.chain.protocol import Protocol
from node.chain.types import JobStatus
from node.solver.open_jobs import OpenJobs

pytestmark = pytest.mark.chain


def _truly_open(p: Protocol) -> list[int]:
    return [
        i
        for i in range(1, p.market.job_count() + 1)
        if p.market.get_job(i).status is JobStatus.OPEN
    ]


def test_candidates_are_exactly_the_open_jobs(submitter: Protocol, solver: Protocol) -> None:
    solver.stake(10_000 * 10**18)
    tracker = OpenJobs(solver)
    before = _truly_open(solver)  # jobs other tests left on the shared deployment, if any
    assert tracker.candidates() == before
    a, b, c = (post(submitter, f"open-jobs {k}").job_id for k in range(3))
    assert tracker.candidates() == [*before, a, b, c]

    solver.market.claim_job(a)
    submitter.market.cancel_job(b)
    assert tracker.candidates() == [*before, c] == _truly_open(solver)

    increase_time(solver.w3, SOLVE_TIMEOUT + 1)
    submitter.market.reclaim_timed_out(a)  # back to Open for attempt 1
    assert tracker.candidates() == sorted([*before, a, c]) == _truly_open(solver)
    assert OpenJobs(solver).candidates() == _truly_open(solver)  # a fresh tracker replays the logs
