"""The chain-event indexer: protocol logs into SQL, behind a confirmation depth, reorg-aware."""

from marketplace_api.indexer.indexer import Indexer, IndexerStats
from marketplace_api.indexer.sources import INDEXED_CONTRACTS, indexed_adapters

__all__ = ["INDEXED_CONTRACTS", "Indexer", "IndexerStats", "indexed_adapters"]
