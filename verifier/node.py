"""The verifier node: monitor → players → pure decisions → responder, on a loop.

Each tick polls the monitor, lets the job player and the dispute players decide from a fresh view
of the chain, executes their actions, and withdraws earned credit. All durable state is the
journal (``verifier.sqlite`` in the data folder): a killed verifier restarted on the same folder
rebuilds its index from the chain and continues without repeating or forgetting a move.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from node.chain.client import chain_time
from node.chain.dispute_types import DisputePhase
from node.chain.protocol import Protocol
from node.chain.types import JobStatus
from node.outage import OUTAGES, note_outage
from node.rounds import RoundGates
from node.rounds.aggregator import OuterAggregator
from node.storage import BlobStore
from verifier.actions import Withdraw
from verifier.journal import VerifierJournal
from verifier.monitor import Monitor
from verifier.player import Players
from verifier.responder import Responder

log = logging.getLogger("crowdtrain.verifier")


class VerifierNode:
    """One verifier account."""

    def __init__(
        self,
        protocol: Protocol,
        store: BlobStore,
        data_dir: Path,
        *,
        check_all: bool = False,
        aggregate: bool = False,
        device: str = "cpu",
        poll_interval: float = 0.5,
        now: Callable[[], int] | None = None,
    ) -> None:
        self.protocol = protocol
        self.journal = VerifierJournal(data_dir / "verifier.sqlite")
        self.monitor = Monitor(protocol)
        self.players = Players(protocol, store, self.journal, check_all=check_all, device=device)
        self.responder = Responder(protocol, self.journal, self.players)
        self.poll_interval = poll_interval
        self._now = now or (lambda: int(chain_time(protocol.w3)))
        self.withdrawn = 0
        self.gates = RoundGates(protocol, self._now)
        """closes rounds and reopens timed-out units of rounds jobs (anyone may; docs/ROUNDS.md)."""
        self.aggregator = OuterAggregator(protocol, store, self.gates) if aggregate else None
        """with ``aggregate``: publishes rounds' outer steps (bonded), disproves wrong ones."""

    def tick(self) -> bool:
        """One pass over every live job and dispute; True if a transaction was sent."""
        sent_before = len(self.responder.sent)
        index = self.monitor.poll()
        market = self.protocol.market
        for job_id in sorted(index.jobs):
            job = market.get_job(job_id)
            if job.status is JobStatus.COMMITTED:
                for action in self.players.play_job(job, index, self._now()):
                    self.responder.execute(action)
        for opened in index.open_disputes():
            d = self.protocol.dispute_game.get_dispute(opened.dispute_id)
            if d.phase is DisputePhase.RESOLVED:
                index.resolved.add(d.dispute_id)
                continue
            for move in self.players.play_dispute(d, index, self._now()):
                self.responder.execute(move)
        credit = market.credit_of(self.protocol.address)
        if credit > 0:
            self.responder.execute(Withdraw())
            self.withdrawn += credit
        gated = self.gates.tick()
        if self.aggregator is not None:
            gated |= self.aggregator.tick()
        return len(self.responder.sent) > sent_before or gated

    def idle(self) -> bool:
        """No committed job and no open dispute left to watch."""
        index = self.monitor.index
        live = any(
            self.protocol.market.get_job(j).status is JobStatus.COMMITTED for j in index.jobs
        )
        return not live and not index.open_disputes()

    def run(self, *, once: bool = False, max_seconds: float | None = None) -> None:
        """Tick until stopped; with ``once``, stop when a job was seen and nothing is live."""
        started = time.monotonic()
        while True:
            try:
                progressed = self.tick()
                if once and self.monitor.index.jobs and self.idle():
                    # a job may have been finalized after this tick read the credit: one more
                    # pass withdraws it, so ``--once`` never exits with earnings left behind
                    self.tick()
                    return
            except OUTAGES as err:  # moves are journalled: the next pass decides again
                note_outage(log, err, self.poll_interval)
                progressed = False
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                return
            if not progressed:
                time.sleep(self.poll_interval)
