"""Pure decision logic of the solver: given the chain's view of a job, what to do next.

Kept free of I/O so every branch (lost job, passed deadline, frozen job, finalize time) is tested
with plain values and a fake clock; the daemon only executes what this returns.
"""

from __future__ import annotations

from enum import StrEnum

from node.chain.types import Job, JobStatus


class Action(StrEnum):
    TRAIN_AND_COMMIT = "train_and_commit"
    WAIT = "wait"
    FINALIZE = "finalize"
    COLLECT = "collect"
    ABANDON = "abandon"


def next_action(job: Job, *, me: str, attempt: int, now: int, reveal_phase: int = 0) -> Action:
    """The next step for our claim of ``job`` at ``attempt``, at chain time ``now``.

    Deadlines are inclusive on-chain: a commit is valid while ``now <= deadline``; finalize only
    once the challenge window and the attestation reveal phase are over
    (``now > deadline + reveal_phase``).
    """
    if job.attempt != attempt:
        # The job reopened (timeout or proven fraud): our claim is gone.
        return Action.ABANDON
    if job.status is JobStatus.FINALIZED:
        return Action.COLLECT if job.solver == me else Action.ABANDON
    if job.solver != me:
        return Action.ABANDON
    if job.status is JobStatus.CLAIMED:
        return Action.TRAIN_AND_COMMIT if now <= job.deadline else Action.ABANDON
    if job.status is JobStatus.COMMITTED:
        if job.open_disputes > 0 or now <= job.deadline + reveal_phase:
            return Action.WAIT
        return Action.FINALIZE
    return Action.ABANDON


def can_claim(job: Job, *, free_stake: int, lock: int) -> bool:
    """Whether an open job is claimable with our free stake."""
    return job.status is JobStatus.OPEN and free_stake >= lock
