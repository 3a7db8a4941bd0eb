"""Dispute decisions of the challenger, a juror and the solver, with a fake clock."""

from __future__ import annotations

from dataclasses import replace

from eth_typing import ChecksumAddress

from node.chain.dispute_types import (
    Dispute,
    DisputeKind,
    DisputeOutcome,
    DisputePhase,
    Target,
)
from node.chain.types import Wei
from node.solver.dispute_decide import SolverDisputeKnowledge, SolverMove, decide_solver_dispute
from verifier.bisection import split_points
from verifier.dispute_decide import (
    ChooseRange,
    CommitVote,
    ComputeDigest,
    DisputeKnowledge,
    RecordDisputeSeed,
    Resolve,
    RevealVote,
    Timeout,
    decide_dispute,
)

CHALLENGER, SOLVER, JUROR = (ChecksumAddress("0x" + c * 40) for c in "c57")  # type: ignore[arg-type]
K = 64

D = Dispute(
    dispute_id=3, job_id=1, attempt=0, segment=2, kind=DisputeKind.SEGMENT, target=Target.NONE,
    phase=DisputePhase.OPENING, outcome=DisputeOutcome.NONE, round=0, jury_size=0,
    challenger=CHALLENGER, solver=SOLVER, bond=Wei(10), commit_seq=1, opened_at=100,
    last_move_at=100, solver_clock=120, challenger_clock=120, lo=0, hi=K, seed_block=0,
    snapshot_block=0, commit_deadline=0, reveal_deadline=0, hash_lo=b"\0" * 32,
    hash_hi=b"\0" * 32, seg_root=b"\0" * 32, split_hash=b"\0" * 32, salt=b"\0" * 32,
)  # fmt: skip
HONEST = tuple(bytes([j]) * 32 for j in range(K + 1))


def test_challenger_times_out_a_slow_solver() -> None:
    known = DisputeKnowledge(me=CHALLENGER, block_number=10)
    assert decide_dispute(D, known, 220) == []
    assert decide_dispute(D, known, 221) == [Timeout(3)]
    assert decide_dispute(replace(D, phase=DisputePhase.PROPOSE), known, 221) == [Timeout(3)]
    assert decide_dispute(D, replace(known, me=JUROR), 221) == []


def test_challenger_chooses_first_disagreeing_range() -> None:
    points = split_points(0, K, 16)
    proposal = tuple(HONEST[p] if p < 20 else b"\xee" * 32 for p in points)
    known = DisputeKnowledge(
        me=CHALLENGER, block_number=10, honest_hashes=HONEST, proposal=proposal
    )
    action = decide_dispute(replace(D, phase=DisputePhase.CHOOSE), known, 150)
    assert action == [
        ChooseRange(3, 4, proposal)
    ]  # points 4, 8, …, 16 agree, 20 does not: [16, 20]


def test_jury_seed_then_votes_then_resolve() -> None:
    seeded = replace(D, phase=DisputePhase.JURY_SEED, seed_block=50)
    known = DisputeKnowledge(me=JUROR, block_number=49, jurors=(JUROR,))
    assert decide_dispute(seeded, known, 300) == []
    assert decide_dispute(seeded, replace(known, block_number=50), 300) == [RecordDisputeSeed(3)]
    voting = replace(D, phase=DisputePhase.VOTING, commit_deadline=400, reveal_deadline=460)
    assert decide_dispute(voting, known, 400) == [ComputeDigest(3, 0)]
    assert decide_dispute(voting, replace(known, digest_ready=True), 400) == [CommitVote(3, 0)]
    committed = replace(known, digest_ready=True, vote_committed=True)
    assert decide_dispute(voting, committed, 400) == []
    assert decide_dispute(voting, committed, 401) == [RevealVote(3, 0)]
    assert decide_dispute(voting, replace(committed, vote_revealed=True), 460) == []
    assert decide_dispute(voting, replace(committed, vote_revealed=True), 461) == [Resolve(3)]
    outsider = DisputeKnowledge(me="0x" + "9" * 40, block_number=60)
    assert decide_dispute(voting, outsider, 401) == []


def test_solver_answers_within_its_clock() -> None:
    known = SolverDisputeKnowledge(me=SOLVER, block_number=10)
    assert decide_solver_dispute(D, known, 220) == [SolverMove.OPEN_SEGMENT]
    assert decide_solver_dispute(D, known, 221) == []
    initial = replace(D, kind=DisputeKind.INITIAL_STATE)
    assert decide_solver_dispute(initial, known, 150) == [SolverMove.OPEN_INITIAL_STATE]
    propose = replace(D, phase=DisputePhase.PROPOSE, last_move_at=200, solver_clock=30)
    assert decide_solver_dispute(propose, known, 230) == [SolverMove.PROPOSE_SPLIT]
    choose = replace(D, phase=DisputePhase.CHOOSE, last_move_at=200, challenger_clock=20)
    assert decide_solver_dispute(choose, known, 220) == []
    assert decide_solver_dispute(choose, known, 221) == [SolverMove.TIMEOUT]
    assert decide_solver_dispute(D, replace(known, answers=False), 150) == []


def test_solver_publishes_state_before_voting() -> None:
    known = SolverDisputeKnowledge(me=SOLVER, block_number=60)
    seeded = replace(D, phase=DisputePhase.JURY_SEED, seed_block=50)
    assert decide_solver_dispute(seeded, known, 300) == [
        SolverMove.PUBLISH_STATE,
        SolverMove.RECORD_SEED,
    ]
    voting = replace(D, phase=DisputePhase.VOTING, commit_deadline=400, reveal_deadline=460)
    assert decide_solver_dispute(voting, known, 390) == [SolverMove.PUBLISH_STATE]
    published = replace(known, state_published=True)
    assert decide_solver_dispute(voting, published, 390) == [SolverMove.COMMIT_VOTE]
    done = replace(published, vote_committed=True)
    assert decide_solver_dispute(voting, done, 401) == [SolverMove.REVEAL_VOTE]
    assert decide_solver_dispute(voting, replace(done, vote_revealed=True), 461) == [
        SolverMove.RESOLVE
    ]
