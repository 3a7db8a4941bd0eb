"""Which contracts the indexer follows: one row per contract.

Indexing a new contract (the DisputeGame of issue 4) is a new row here — its deployment name and
adapter class — plus its event handlers in ``projections.HANDLERS``; the indexer loop is unchanged.
"""

from __future__ import annotations

from node.chain.adapter import ContractAdapter
from node.chain.job_market import JobMarketAdapter
from node.chain.protocol import Protocol
from node.chain.stake_registry import StakeRegistryAdapter

INDEXED_CONTRACTS: dict[str, type[ContractAdapter]] = {
    "JobMarket": JobMarketAdapter,
    "StakeRegistry": StakeRegistryAdapter,
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
