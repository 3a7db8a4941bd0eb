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
    CLAIM_DATASET = "claim_dataset"
    """open ``DisputeGame.openAvailabilityClaim(jobId, Dataset, 0)``: the dataset is missing or
    does not hash to its address, so the job cannot be trained (docs/PROTOCOL.md §6 "Availability")."""


class DatasetClaim(StrEnum):
    """This solver's dataset availability claims on one (job, attempt), as the chain shows them."""

    NONE = "none"
    OPEN = "open"
    REJECTED = "rejected"
    """the jury found the dataset available (a claim the job survived: it stays ours)."""


def next_action(
    job: Job,
    *,
    me: str,
    attempt: int,
    now: int,
    reveal_phase: int = 0,
    dataset_ok: bool = True,
    dataset_claim: DatasetClaim = DatasetClaim.NONE,
) -> Action:
    """The next step for our claim of ``job`` at ``attempt``, at chain time ``now``.

    Deadlines are inclusive on-chain: a commit is valid while ``now <= deadline``; finalize only
    once the challenge window and the attestation reveal phase are over
    (``now > deadline + reveal_phase``).

    ``dataset_ok``: the dataset blob was fetched and hashes to its address (only consulted while
    the job is Claimed). Without it the solver opens one availability claim before its deadline
    (if upheld the job is aborted without slashing us); while the claim is open the job is frozen
    and we wait; after a rejection we never claim again (it would only lose another bond) and keep
    waiting for the dataset until the deadline.
    """
    if job.attempt != attempt:
        # The job reopened (timeout or proven fraud): our claim is gone.
        return Action.ABANDON
    if job.status is JobStatus.FINALIZED:
        return Action.COLLECT if job.solver == me else Action.ABANDON
    if job.solver != me:
        return Action.ABANDON
    if job.status is JobStatus.CLAIMED:
        if job.open_disputes > 0:
            return Action.WAIT  # our dataset claim is open: the solve deadline is frozen
        if now > job.deadline:
            return Action.ABANDON
        if dataset_ok:
            return Action.TRAIN_AND_COMMIT
        return Action.CLAIM_DATASET if dataset_claim is DatasetClaim.NONE else Action.WAIT
    if job.status is JobStatus.COMMITTED:
        if job.open_disputes > 0 or now <= job.deadline + reveal_phase:
            return Action.WAIT
        return Action.FINALIZE
    return Action.ABANDON


def can_claim(job: Job, *, free_stake: int, lock: int) -> bool:
    """Whether an open job is claimable with our free stake."""
    return job.status is JobStatus.OPEN and free_stake >= lock
