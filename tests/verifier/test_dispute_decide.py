"""Dispute decisions of the challenger, a juror and the solver, with a fake clock."""

from __future__ import annotations

from dataclasses import replace

from eth_typing import ChecksumAddress

from node.chain.dispute_types import (
    Dispute,
    DisputeKind,
    DisputeOutcome,
    DisputePhase,
    JuryPhase,
    Panel,
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
    VoidStale,
    decide_dispute,
)

CHALLENGER, SOLVER, JUROR, SUBMITTER = (ChecksumAddress("0x" + c * 40) for c in "c57d")  # type: ignore[arg-type]
K = 64

D = Dispute(
    dispute_id=3, job_id=1, attempt=0, segment=2, kind=DisputeKind.SEGMENT, target=Target.NONE,
    phase=DisputePhase.OPENING, outcome=DisputeOutcome.NONE, solver_clock=120,
    challenger_clock=120, challenger=CHALLENGER, bond=Wei(10), solver=SOLVER, commit_seq=1,
    lo=0, hi=K, checkpoint_every=K, num_segments=4, opened_at=100, last_move_at=100,
    hash_lo=b"\0" * 32, hash_hi=b"\0" * 32, seg_root=b"\0" * 32, split_hash=b"\0" * 32,
    commitment=b"\0" * 32,
)  # fmt: skip
P = Panel(
    phase=JuryPhase.SEED, round=0, size=3, solver=SOLVER, challenger=CHALLENGER, seed_block=50,
    snapshot_block=48, commit_deadline=400, reveal_deadline=460, salt=b"\1" * 32,
    draw_deadline=170, submitter=SUBMITTER,
)  # fmt: skip
JURY = replace(D, phase=DisputePhase.JURY)
VOTING = replace(P, phase=JuryPhase.VOTING)
HONEST = tuple(bytes([j]) * 32 for j in range(K + 1))


def test_challenger_times_out_a_slow_solver() -> None:
    known = DisputeKnowledge(me=CHALLENGER, block_number=10)
    assert decide_dispute(D, None, known, 220) == []
    assert decide_dispute(D, None, known, 221) == [Timeout(3)]
    assert decide_dispute(replace(D, phase=DisputePhase.PROPOSE), None, known, 221) == [Timeout(3)]
    assert decide_dispute(D, None, replace(known, me=JUROR), 221) == []


def test_challenger_chooses_first_disagreeing_range() -> None:
    points = split_points(0, K, 16)
    proposal = tuple(HONEST[p] if p < 20 else b"\xee" * 32 for p in points)
    known = DisputeKnowledge(
        me=CHALLENGER,
        block_number=10,
        honest_hashes=HONEST,
        proposal=proposal,
        proposal_points=tuple(points),
    )
    choose = replace(D, phase=DisputePhase.CHOOSE)
    action = decide_dispute(choose, None, known, 150)
    assert action == [
        ChooseRange(3, 4, proposal)
    ]  # points 4, 8, …, 16 agree, 20 does not: [16, 20]


def test_challenger_waits_for_the_proposal_of_the_current_range() -> None:
    """The chain can show the Choose phase before the monitor has indexed the SplitProposed
    event (or while it still holds an older round's): the challenger waits instead of failing."""
    points = split_points(0, K, 16)
    choose = replace(D, phase=DisputePhase.CHOOSE)
    unseen = DisputeKnowledge(me=CHALLENGER, block_number=10, honest_hashes=HONEST)
    assert decide_dispute(choose, None, unseen, 150) == []
    older = replace(
        unseen, proposal=tuple(HONEST[p] for p in points), proposal_points=tuple(points)
    )
    narrowed = replace(choose, lo=16, hi=20)
    assert decide_dispute(narrowed, None, older, 150) == []


def test_jury_seed_then_votes_then_resolve() -> None:
    known = DisputeKnowledge(me=JUROR, block_number=50, jurors=(JUROR,))
    assert decide_dispute(JURY, P, known, 300) == []
    assert decide_dispute(JURY, P, replace(known, block_number=51), 300) == [RecordDisputeSeed(3)]
    voting = JURY
    assert decide_dispute(voting, VOTING, known, 400) == [ComputeDigest(3, 0)]
    assert decide_dispute(voting, VOTING, replace(known, digest_ready=True), 400) == [
        CommitVote(3, 0)
    ]
    committed = replace(known, digest_ready=True, vote_committed=True)
    assert decide_dispute(voting, VOTING, committed, 400) == []
    assert decide_dispute(voting, VOTING, committed, 401) == [RevealVote(3, 0)]
    assert decide_dispute(voting, VOTING, replace(committed, vote_revealed=True), 460) == []
    assert decide_dispute(voting, VOTING, replace(committed, vote_revealed=True), 461) == [
        Resolve(3)
    ]
    outsider = DisputeKnowledge(me="0x" + "9" * 40, block_number=60)
    assert decide_dispute(voting, VOTING, outsider, 401) == []


def test_solver_answers_within_its_clock() -> None:
    known = SolverDisputeKnowledge(me=SOLVER, block_number=10)
    assert decide_solver_dispute(D, None, known, 220) == [SolverMove.OPEN_SEGMENT]
    assert decide_solver_dispute(D, None, known, 221) == []
    initial = replace(D, kind=DisputeKind.INITIAL_STATE)
    assert decide_solver_dispute(initial, None, known, 150) == [SolverMove.OPEN_INITIAL_STATE]
    propose = replace(D, phase=DisputePhase.PROPOSE, last_move_at=200, solver_clock=30)
    assert decide_solver_dispute(propose, None, known, 230) == [SolverMove.PROPOSE_SPLIT]
    choose = replace(D, phase=DisputePhase.CHOOSE, last_move_at=200, challenger_clock=20)
    assert decide_solver_dispute(choose, None, known, 220) == []
    assert decide_solver_dispute(choose, None, known, 221) == [SolverMove.TIMEOUT]
    assert decide_solver_dispute(D, None, replace(known, answers=False), 150) == []


def test_solver_publishes_state_before_voting() -> None:
    known = SolverDisputeKnowledge(me=SOLVER, block_number=60)
    assert decide_solver_dispute(JURY, P, known, 300) == [
        SolverMove.PUBLISH_STATE,
        SolverMove.RECORD_SEED,
    ]
    voting = JURY
    assert decide_solver_dispute(voting, VOTING, known, 390) == [SolverMove.PUBLISH_STATE]
    published = replace(known, state_published=True)
    assert decide_solver_dispute(voting, VOTING, published, 390) == [SolverMove.COMMIT_VOTE]
    done = replace(published, vote_committed=True)
    assert decide_solver_dispute(voting, VOTING, done, 401) == [SolverMove.REVEAL_VOTE]
    assert decide_solver_dispute(voting, VOTING, replace(done, vote_revealed=True), 461) == [
        SolverMove.RESOLVE
    ]


def test_solver_confirms_the_pinned_step_in_time() -> None:
    known = SolverDisputeKnowledge(me=SOLVER, block_number=10)
    confirm = replace(D, phase=DisputePhase.CONFIRM, last_move_at=200, solver_clock=30)
    assert decide_solver_dispute(confirm, None, known, 230) == [SolverMove.CONFIRM_STEP]
    assert decide_solver_dispute(confirm, None, known, 231) == []
    challenger = DisputeKnowledge(me=CHALLENGER, block_number=10)
    assert decide_dispute(confirm, None, challenger, 231) == [Timeout(3)]


def test_a_dispute_of_an_ended_attempt_is_voided() -> None:
    known = DisputeKnowledge(me=JUROR, block_number=10, job_attempt=1)
    assert decide_dispute(JURY, P, known, 300) == [VoidStale(3)]
    assert decide_dispute(JURY, P, replace(known, job_attempt=0), 300) == []
