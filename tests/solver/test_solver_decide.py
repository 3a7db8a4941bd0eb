"""The solver's pure decision logic, with a fake clock: every branch, no chain needed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from solver_jobs import CLAIMED_JOB, SOLVER, SUBMITTER

from node.chain.types import ZERO_ADDRESS, JobStatus
from node.solver.decide import Action, can_claim, next_action


@pytest.mark.parametrize(
    ("changes", "now", "expected"),
    [
        ({}, 1000, Action.TRAIN_AND_COMMIT),  # the deadline second itself is still valid
        ({}, 1001, Action.ABANDON),
        ({"attempt": 1, "status": JobStatus.OPEN}, 10, Action.ABANDON),  # timed out and reopened
        ({"solver": SUBMITTER}, 10, Action.ABANDON),
        ({"status": JobStatus.COMMITTED}, 1000, Action.WAIT),  # window still open
        ({"status": JobStatus.COMMITTED}, 1001, Action.FINALIZE),
        ({"status": JobStatus.COMMITTED, "open_disputes": 1}, 5000, Action.WAIT),  # frozen
        ({"status": JobStatus.FINALIZED}, 5000, Action.COLLECT),
        ({"status": JobStatus.FINALIZED, "solver": SUBMITTER}, 5000, Action.ABANDON),
        ({"status": JobStatus.CANCELLED, "solver": ZERO_ADDRESS}, 5, Action.ABANDON),
    ],
)
def test_next_action(changes: dict[str, object], now: int, expected: Action) -> None:
    job = replace(CLAIMED_JOB, **changes)  # type: ignore[arg-type]
    assert next_action(job, me=SOLVER, attempt=0, now=now) is expected


def test_can_claim_needs_an_open_job_and_enough_free_stake() -> None:
    open_job = replace(CLAIMED_JOB, status=JobStatus.OPEN, solver=ZERO_ADDRESS)
    assert can_claim(open_job, free_stake=200, lock=200)
    assert not can_claim(open_job, free_stake=199, lock=200)
    assert not can_claim(CLAIMED_JOB, free_stake=10**30, lock=200)
