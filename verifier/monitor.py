"""The verifier's monitor: one ``EventPoller`` over JobMarket, Attestations, DisputeGame and Jury.

It keeps only an index of what exists (committed jobs, disputes, split proposals, challenge
commitments, jury draws). The index is rebuilt from the chain on every start (the poller starts at
the deployment block), so nothing in it needs to survive a restart: the journal keeps only what
the chain cannot tell (salts, replay findings, digests).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from node.chain.dispute_events import (
    ChallengeCommitted,
    DisputeOpened,
    DisputeResolved,
    JuryDrawn,
    SplitProposed,
)
from node.chain.events import ChainEvent, JobCommitted
from node.chain.poller import EventPoller
from node.chain.protocol import Protocol


@dataclass
class ChainIndex:
    """What the monitor learned from events so far."""

    jobs: set[int] = field(default_factory=set)
    """jobs that were committed at least once (their current state is read from the chain)."""
    disputes: dict[int, DisputeOpened] = field(default_factory=dict)
    resolved: set[int] = field(default_factory=set)
    proposals: dict[int, tuple[tuple[int, ...], tuple[bytes, ...]]] = field(default_factory=dict)
    """the latest split proposal per dispute, (points, hashes) (the contract keeps only its hash)."""
    challenge_commits: set[tuple[bytes, str]] = field(default_factory=set)
    """(hash, committer, lowercase): commits are the committer's own (a copied hash is another)."""
    jurors: dict[tuple[int, int], tuple[str, ...]] = field(
        default_factory=lambda: defaultdict(tuple)
    )

    def apply(self, event: ChainEvent) -> None:
        if isinstance(event, JobCommitted):
            self.jobs.add(int(event.job_id))
        elif isinstance(event, DisputeOpened):
            self.disputes[event.dispute_id] = event
        elif isinstance(event, DisputeResolved):
            self.resolved.add(event.dispute_id)
        elif isinstance(event, SplitProposed):
            self.proposals[event.dispute_id] = (tuple(event.points), tuple(event.hashes))
        elif isinstance(event, ChallengeCommitted):
            self.challenge_commits.add((bytes(event.hash), event.challenger.lower()))
        elif isinstance(event, JuryDrawn):
            self.jurors[(event.dispute_id, event.round)] = tuple(event.jurors)

    def open_disputes(self) -> list[DisputeOpened]:
        return [d for i, d in sorted(self.disputes.items()) if i not in self.resolved]


class Monitor:
    """Polls the protocol's events into a ``ChainIndex``."""

    def __init__(self, protocol: Protocol) -> None:
        p = protocol
        self.poller = EventPoller(
            p.w3,
            [p.market, p.attestations, p.dispute_game, p.jury],
            start_block=p.deployment.deployment_block,
        )
        self.index = ChainIndex()

    def poll(self) -> ChainIndex:
        for event in self.poller.poll():
            self.index.apply(event)
        return self.index
