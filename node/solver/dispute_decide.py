"""Pure decision logic of the solver as the respondent of a dispute (docs/PROTOCOL.md §6).

The solver answers within its chess clock: open the segment (or checkpoint leaf 0), propose split
points, confirm the pinned step, make the disputed state available and vote its salted digest; it
calls ``timeout`` on a challenger that ran out of time and records pending jury seeds. No I/O;
tested with plain values and a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from node.chain.dispute_types import Dispute, DisputeKind, DisputePhase, JuryPhase, Panel


class SolverMove(StrEnum):
    OPEN_SEGMENT = "open_segment"
    OPEN_INITIAL_STATE = "open_initial_state"
    PROPOSE_SPLIT = "propose_split"
    CONFIRM_STEP = "confirm_step"
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


_CLOCKED = {
    DisputePhase.PROPOSE: SolverMove.PROPOSE_SPLIT,
    DisputePhase.CONFIRM: SolverMove.CONFIRM_STEP,
}


def decide_solver_dispute(
    d: Dispute, panel: Panel | None, known: SolverDisputeKnowledge, now: int
) -> list[SolverMove]:
    """The solver's moves in dispute ``d`` at chain time ``now`` (at most one clocked move)."""
    if not known.answers or d.phase in (DisputePhase.NONE, DisputePhase.RESOLVED):
        return []
    respondent = d.solver.lower() == known.me.lower()
    claimant = d.challenger.lower() == known.me.lower()
    if not (respondent or claimant):
        return []
    deadline = d.clock_deadline()
    late = deadline is not None and now > deadline
    if d.phase is DisputePhase.OPENING and respondent:
        if late:
            return []  # too late: the challenger (or anyone) times us out
        if d.kind is DisputeKind.INITIAL_STATE:
            return [SolverMove.OPEN_INITIAL_STATE]
        return [SolverMove.OPEN_SEGMENT]
    if d.phase in _CLOCKED and respondent:
        return [] if late else [_CLOCKED[d.phase]]
    if d.phase is DisputePhase.CHOOSE:
        return [SolverMove.TIMEOUT] if late else []
    if d.phase is not DisputePhase.JURY or panel is None:
        return []
    publish = respondent and not known.state_published and d.kind is DisputeKind.SEGMENT
    if panel.phase in (JuryPhase.SEED, JuryPhase.SALT):
        moves = [SolverMove.RECORD_SEED] if known.block_number > panel.seed_block else []
        return [SolverMove.PUBLISH_STATE, *moves] if publish else moves  # jurors fetch it early
    if panel.phase is not JuryPhase.VOTING:
        return []
    if now > panel.reveal_deadline:
        return [SolverMove.RESOLVE]
    if now <= panel.commit_deadline and not known.vote_committed:
        return [SolverMove.PUBLISH_STATE] if publish else [SolverMove.COMMIT_VOTE]
    if now > panel.commit_deadline and known.vote_committed and not known.vote_revealed:
        return [SolverMove.REVEAL_VOTE]
    return []
