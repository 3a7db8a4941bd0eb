"""Pure decision logic of the solver as the respondent of a dispute (DESIGN §7).

The solver answers within its chess clock: open the segment (or checkpoint leaf 0), propose split
points, make the disputed state available and vote its salted digest; it calls ``timeout`` on a
challenger that ran out of time and records pending jury seeds. As the claimant of a dataset
availability claim it only votes. No I/O; tested with plain values and a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from node.chain.dispute_types import Dispute, DisputeKind, DisputePhase


class SolverMove(StrEnum):
    OPEN_SEGMENT = "open_segment"
    OPEN_INITIAL_STATE = "open_initial_state"
    PROPOSE_SPLIT = "propose_split"
    TIMEOUT = "timeout"
    RECORD_SEED = "record_seed"
    PUBLISH_STATE = "publish_state"
    """local work: regenerate the disputed state from checkpoint i-1 and store it, then digest it."""
    COMMIT_VOTE = "commit_vote"
    REVEAL_VOTE = "reveal_vote"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class SolverDisputeKnowledge:
    me: str
    block_number: int
    answers: bool = True
    """False under the SILENT fault: the solver makes no move at all."""
    state_published: bool = False
    vote_committed: bool = False
    vote_revealed: bool = False


def decide_solver_dispute(d: Dispute, known: SolverDisputeKnowledge, now: int) -> list[SolverMove]:
    """The solver's moves in dispute ``d`` at chain time ``now`` (at most one clocked move)."""
    if not known.answers or d.phase in (DisputePhase.NONE, DisputePhase.RESOLVED):
        return []
    respondent = d.solver.lower() == known.me.lower()
    claimant = d.challenger.lower() == known.me.lower()
    if not (respondent or claimant):
        return []
    deadline = d.clock_deadline()
    if d.phase is DisputePhase.OPENING and respondent:
        if deadline is not None and now > deadline:
            return []  # too late: the challenger (or anyone) times us out
        return [
            SolverMove.OPEN_INITIAL_STATE
            if d.kind is DisputeKind.INITIAL_STATE
            else SolverMove.OPEN_SEGMENT
        ]
    if d.phase is DisputePhase.PROPOSE and respondent:
        return [] if deadline is not None and now > deadline else [SolverMove.PROPOSE_SPLIT]
    if d.phase is DisputePhase.CHOOSE:
        return [SolverMove.TIMEOUT] if deadline is not None and now > deadline else []
    if d.phase in (DisputePhase.JURY_SEED, DisputePhase.JURY_SALT):
        moves = [SolverMove.RECORD_SEED] if known.block_number >= d.seed_block else []
        if respondent and not known.state_published and d.kind is DisputeKind.SEGMENT:
            moves.insert(0, SolverMove.PUBLISH_STATE)  # jurors fetch state j as soon as drawn
        return moves
    if d.phase is not DisputePhase.VOTING:
        return []
    if now > d.reveal_deadline:
        return [SolverMove.RESOLVE]
    if now <= d.commit_deadline and not known.vote_committed:
        if respondent and not known.state_published and d.kind is DisputeKind.SEGMENT:
            return [SolverMove.PUBLISH_STATE]
        return [SolverMove.COMMIT_VOTE]
    if now > d.commit_deadline and known.vote_committed and not known.vote_revealed:
        return [SolverMove.REVEAL_VOTE]
    return []
