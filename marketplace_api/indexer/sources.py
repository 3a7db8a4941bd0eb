"""Which contracts the indexer follows: one row per contract.

Indexing a new contract is a new row here — its deployment name and adapter class — plus its
event handlers in ``projections.HANDLERS``; the indexer loop is unchanged.
"""

from __future__ import annotations

from marketplace_api.indexer.market_events import IndexedJobMarket, IndexedStakeRegistry
from node.chain.adapter import ContractAdapter
from node.chain.attestations import AttestationsAdapter
from node.chain.dispute_game import DisputeGameAdapter
from node.chain.jury import JuryAdapter
from node.chain.protocol import Protocol
from node.chain.rounds_market import RoundsMarketAdapter

INDEXED_CONTRACTS: dict[str, type[ContractAdapter]] = {
    "JobMarket": IndexedJobMarket,
    "StakeRegistry": IndexedStakeRegistry,
    "Attestations": AttestationsAdapter,
    "DisputeGame": DisputeGameAdapter,
    "Jury": JuryAdapter,
    "RoundsMarket": RoundsMarketAdapter,
}
"""Deployment name → adapter class (whose ``EVENTS`` are decoded)."""


def indexed_adapters(protocol: Protocol) -> list[ContractAdapter]:
    """One adapter per indexed contract that this deployment has (a missing one is skipped)."""
    adapters: list[ContractAdapter] = []
    for name, kind in INDEXED_CONTRACTS.items():
        if name not in protocol.deployment.contracts:
            continue
        adapters.append(
            kind(
                protocol.w3,
                protocol.deployment.address(name),
                decoder=protocol.market.decoder,
                from_block=protocol.deployment.deployment_block,
            )
        )
    return adapters
