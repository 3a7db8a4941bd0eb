"""Round gates, kept moving by every daemon (docs/ROUNDS.md "Rounds market").

``RoundsMarket.closeRound`` and ``JobMarket.reclaimTimedOut`` may be called by anyone: a rounds job
must not stall because its submitter is offline. Each solver and verifier daemon runs
``RoundGates.tick`` every pass: a cheap read of the running rounds jobs' current round and its
units, then only the calls the chain would accept now (``gate_moves``, a pure function). Two
daemons racing for the same call is harmless: the loser's transaction reverts and is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from node.chain.events import RoundsJobCancelled, RoundsJobFinished, RoundsJobPosted
from node.chain.poller import EventPoller
from node.chain.protocol import Protocol
from node.chain.types import Job, JobStatus, RoundsStatus
from node.errors import TransactionRevertedError

log = logging.getLogger("crowdtrain.rounds")


class GateMove(StrEnum):
    CLOSE_ROUND = "close_round"
    """all W units final, or the round's deadline passed (closes with quorum, else reopens)."""
    RECLAIM_UNIT = "reclaim_unit"
    """a claimed unit whose solver missed its solve deadline: back to Open for anyone."""


@dataclass(frozen=True)
class RoundView:
    """The current round of a running rounds job, as the chain shows it."""

    rounds_id: int
    round_: int
    deadline: int
    units: tuple[Job, ...]
    """the round's W unit jobs, in slot order."""


def gate_moves(view: RoundView, now: int) -> list[tuple[GateMove, int]]:
    """The gate calls due at chain time ``now``: (move, jobId or roundsId)."""
    moves: list[tuple[GateMove, int]] = []
    for unit in view.units:
        if unit.status is JobStatus.CLAIMED and unit.open_disputes == 0 and now > unit.deadline:
            moves.append((GateMove.RECLAIM_UNIT, unit.job_id))
    final = sum(u.status is JobStatus.FINALIZED for u in view.units)
    if final == len(view.units) or now > view.deadline:
        moves.append((GateMove.CLOSE_ROUND, view.rounds_id))
    return moves


class RoundGates:
    """The running rounds jobs of a deployment and the gate calls due on them."""

    def __init__(self, protocol: Protocol, now: Callable[[], int]) -> None:
        self.p = protocol
        self._now = now
        self._market = protocol.rounds_market
        self._running: set[int] = set()
        self._poller = EventPoller(
            protocol.w3, [self._market], start_block=protocol.deployment.deployment_block
        )

    def running(self) -> list[int]:
        """Ids of rounds jobs not yet finished or cancelled (from the rounds market's logs)."""
        for event in self._poller.poll():
            if isinstance(event, RoundsJobPosted):
                self._running.add(event.rounds_id)
            elif isinstance(event, RoundsJobFinished | RoundsJobCancelled):
                self._running.discard(event.rounds_id)
        return sorted(self._running)

    def views(self) -> list[RoundView]:
        out = []
        for rounds_id in self.running():
            job = self._market.get_rounds_job(rounds_id)
            if job.status is not RoundsStatus.RUNNING:
                self._running.discard(rounds_id)
                continue
            ids = self._market.round_jobs(rounds_id, job.round)
            units = tuple(self.p.market.get_job(i) for i in ids)
            out.append(RoundView(rounds_id, int(job.round), int(job.round_deadline), units))
        return out

    def tick(self) -> bool:
        """Make every gate call due now; True if one was sent."""
        sent = False
        now = self._now()
        for view in self.views():
            for move, target in gate_moves(view, now):
                sent |= self._make(move, target, view)
        return sent

    def _make(self, move: GateMove, target: int, view: RoundView) -> bool:
        try:
            if move is GateMove.RECLAIM_UNIT:
                self.p.market.reclaim_timed_out(target)
            else:
                self._market.close_round(target)
        except TransactionRevertedError as err:  # another daemon was first, or not due yet
            log.info(
                "rounds job %d round %d: %s not accepted: %s",
                view.rounds_id,
                view.round_,
                move.value,
                err,
            )
            return False
        log.info("rounds job %d round %d: %s %d", view.rounds_id, view.round_, move.value, target)
        return True
