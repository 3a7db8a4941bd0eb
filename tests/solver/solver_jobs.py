"""A job claimed by ``SOLVER`` (submitted by ``SUBMITTER``), the fixture of the solver's pure
decision tests; each test changes what it needs with ``dataclasses.replace``."""

from __future__ import annotations

from eth_typing import ChecksumAddress

from node.chain.types import Job, JobId, JobStatus, Timestamp, Wei

SOLVER, SUBMITTER = (ChecksumAddress("0x" + c * 40) for c in "ab")
CLAIMED_JOB = Job(
    job_id=JobId(1),
    submitter=SUBMITTER,
    reward=Wei(10),
    solver=SOLVER,
    verifier_fee=Wei(1),
    spec_hash=b"\x01" * 32,
    num_segments=3,
    checkpoint_every=4,
    attempt=0,
    solve_timeout=600,
    sample_rate_bps=1000,
    open_disputes=0,
    status=JobStatus.CLAIMED,
    deadline=Timestamp(1000),
    commitment=b"\x00" * 32,
)
