"""Which jobs might be claimable, from JobMarket events instead of a scan of every job id.

A solver looks for work every tick; reading every job ever posted (``getJob`` for ids 1..n) costs
O(n) RPC calls per tick and grows forever. The events say which jobs entered ``Open`` (posted,
solve timeout, proven fraud, upheld dataset claim) and which left it (claimed, cancelled), so a
tick reads only the new logs and then ``getJob`` for the few jobs that are open now. The chain
stays the judge: the caller still checks each candidate's status before acting on it.
"""

from __future__ import annotations

from node.chain.events import (
    JobAborted,
    JobCancelled,
    JobClaimed,
    JobPosted,
    JobReopened,
    JobSolveTimedOut,
)
from node.chain.poller import EventPoller
from node.chain.protocol import Protocol

OPENED = (JobPosted, JobSolveTimedOut, JobReopened, JobAborted)
CLOSED = (JobClaimed, JobCancelled)


class OpenJobs:
    """The ids of jobs whose latest status change (as the logs tell it) left them ``Open``."""

    def __init__(self, protocol: Protocol) -> None:
        self._poller = EventPoller(
            protocol.w3, [protocol.market], start_block=protocol.deployment.deployment_block
        )
        self._open: set[int] = set()

    def candidates(self) -> list[int]:
        """Open job ids, oldest first, after reading the logs since the last call."""
        for event in self._poller.poll():
            if isinstance(event, OPENED):
                self._open.add(int(event.job_id))
            elif isinstance(event, CLOSED):
                self._open.discard(int(event.job_id))
        return sorted(self._open)
