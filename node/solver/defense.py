"""The submitter's answer to Dataset availability claims on its jobs (docs/PROTOCOL.md §6, DISPUTES.md).

A solver may claim that a job's dataset is unavailable; the submitter is then the respondent, and
``Jury.resolve`` rules against a respondent that does not reveal a digest. So an honest but passive
submitter would lose to a lying solver: ``crowdtrain job defend`` runs this player, which, for
every Dataset claim naming this account as respondent (optionally only on some jobs), records the
jury seeds, commits and reveals ``BLAKE3(r ‖ dataset blob)`` of the blob as the store serves it
(the jurors fetch the same store), and resolves after the reveal phase.

It is ``SolverDisputes`` restricted to those disputes: the same pure decisions
(``decide_solver_dispute``: a respondent in the jury phase), the same digest code
(``node.votes.dataset_digest``) and the same journal discipline (the vote salt is written
before the commit is sent, so a restarted defender reveals what it committed). A submitter whose
dataset is not in the store does not vote: revealing 0 loses anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from node.chain.client import chain_time
from node.chain.dispute_types import Dispute, Target
from node.chain.protocol import Protocol
from node.chain.types import JobStatus
from node.outage import OUTAGES, note_outage
from node.solver.disputes import SolverDisputes
from node.solver.journal import SolverJournal
from node.storage import BlobStore

log = logging.getLogger("crowdtrain.defense")

# A Dataset claim can only be opened while the job is Open → Claimed; past these, nothing to defend.
_SETTLED = (JobStatus.COMMITTED, JobStatus.FINALIZED, JobStatus.CANCELLED)


class DatasetDefense(SolverDisputes):
    """Answers the Dataset availability claims against one submitter account."""

    def __init__(
        self,
        protocol: Protocol,
        store: BlobStore,
        data_dir: Path,
        *,
        jobs: Iterable[int] | None = None,
        now: Callable[[], int] | None = None,
    ) -> None:
        journal = SolverJournal(data_dir / "defense.sqlite")
        super().__init__(
            protocol, store, data_dir, journal, now or (lambda: int(chain_time(protocol.w3)))
        )
        self.jobs = None if jobs is None else frozenset(jobs)
        self.plan = None  # the solver's fault hooks never apply to the submitter

    def concerns(self, d: Dispute) -> bool:
        return (
            d.target is Target.DATASET
            and d.solver == self.me
            and (self.jobs is None or d.job_id in self.jobs)
        )

    def settled(self) -> bool:
        """Every watched job is past the point where a dataset claim can be opened, and no claim
        on them is open (only meaningful with ``jobs``; call after a ``tick``)."""
        if self.jobs is None:
            return False
        market = self.p.market
        return self.open_count() == 0 and all(
            market.get_job(j).status in _SETTLED for j in self.jobs
        )

    def run(
        self, *, once: bool = False, max_seconds: float | None = None, poll_interval: float = 0.5
    ) -> None:
        """Answer claims until stopped; with ``once``, until ``settled()``."""
        started = time.monotonic()
        while True:
            try:
                moved = self.tick()
                if once and self.settled():
                    return
            except OUTAGES as err:  # votes are journalled: the next pass decides again
                note_outage(log, err, poll_interval)
                moved = False
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                return
            if not moved:
                time.sleep(poll_interval)
