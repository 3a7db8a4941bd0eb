"""The round gates' pure decision: which anyone-may calls are due, with plain values and a clock."""

from __future__ import annotations

from dataclasses import replace

from eth_typing import ChecksumAddress

from node.chain.types import Job, JobId, JobStatus, Timestamp, Wei
from node.rounds import GateMove, RoundView, gate_moves

SOLVER = ChecksumAddress("0x" + "a" * 40)
UNIT = Job(
    job_id=JobId(4),
    submitter=ChecksumAddress("0x" + "b" * 40),
    reward=Wei(10),
    solver=SOLVER,
    verifier_fee=Wei(1),
    spec_hash=b"\x01" * 32,
    num_segments=2,
    checkpoint_every=4,
    attempt=0,
    solve_timeout=600,
    sample_rate_bps=1000,
    open_disputes=0,
    status=JobStatus.FINALIZED,
    deadline=Timestamp(1000),
    commitment=b"\x00" * 32,
)


def _round(*units: Job, deadline: int = 5000) -> RoundView:
    numbered = tuple(replace(u, job_id=JobId(4 + w)) for w, u in enumerate(units))
    return RoundView(rounds_id=1, round_=0, deadline=deadline, units=numbered)


def test_a_round_closes_once_every_unit_is_final() -> None:
    assert gate_moves(_round(UNIT, UNIT, UNIT), now=10) == [(GateMove.CLOSE_ROUND, 1)]
    committed = replace(UNIT, status=JobStatus.COMMITTED)
    assert gate_moves(_round(UNIT, committed, UNIT), now=10) == []


def test_past_its_deadline_a_round_is_closed_or_reopened_by_anyone() -> None:
    open_unit = replace(UNIT, status=JobStatus.OPEN)
    view = _round(UNIT, open_unit, open_unit, deadline=100)
    assert gate_moves(view, now=100) == []  # the deadline second itself is still inside
    assert gate_moves(view, now=101) == [(GateMove.CLOSE_ROUND, 1)]


def test_a_timed_out_claim_is_reclaimed_unless_frozen_by_a_dispute() -> None:
    claimed = replace(UNIT, status=JobStatus.CLAIMED, deadline=Timestamp(50))
    assert gate_moves(_round(UNIT, claimed), now=50) == []
    assert gate_moves(_round(UNIT, claimed), now=51) == [(GateMove.RECLAIM_UNIT, 5)]
    frozen = replace(claimed, open_disputes=1)
    assert gate_moves(_round(UNIT, frozen), now=51) == []
