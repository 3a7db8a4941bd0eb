"""JobMarket and StakeRegistry events the indexer needs beyond what ``node.chain.events`` models.

The node's dataclasses carry what a daemon acts on; the indexer also wants the payout facts of
issue 4 (``attesterPaid`` of ``JobFinalized``, ``StakeSettled``) and who joined the
verifier set. Decoding stays the node's (``event_from_data`` by field name); only the tables grow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from eth_typing import ChecksumAddress

from node.chain.events import JOB_MARKET_EVENTS, STAKE_REGISTRY_EVENTS, ChainEvent
from node.chain.job_market import JobMarketAdapter
from node.chain.stake_registry import StakeRegistryAdapter
from node.chain.types import JobId, Wei


@dataclass(frozen=True)
class JobFinalized(ChainEvent):
    job_id: JobId
    solver: ChecksumAddress
    reward: Wei
    attester_paid: Wei
    refund: Wei


@dataclass(frozen=True)
class StakeSettled(ChainEvent):
    account: ChecksumAddress
    paid: Wei
    burned: Wei


@dataclass(frozen=True)
class VerifierRegistered(ChainEvent):
    account: ChecksumAddress
    slot: int


class IndexedJobMarket(JobMarketAdapter):
    """JobMarket with every event the API shows."""

    EVENTS: ClassVar[dict[str, type[ChainEvent]]] = {
        **JOB_MARKET_EVENTS,
        "JobFinalized": JobFinalized,
        "StakeSettled": StakeSettled,
    }


class IndexedStakeRegistry(StakeRegistryAdapter):
    """StakeRegistry with verifier registration."""

    EVENTS: ClassVar[dict[str, type[ChainEvent]]] = {
        **STAKE_REGISTRY_EVENTS,
        "VerifierRegistered": VerifierRegistered,
    }
