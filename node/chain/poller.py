"""Event polling with a confirmation depth: read each block range once, only behind the safe head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import requests
from web3 import Web3
from web3.types import FilterParams, LogReceipt

from node.chain.adapter import ContractAdapter
from node.chain.events import ChainEvent
from node.chain.types import BlockNumber
from node.errors import RpcUnreachableError


def safe_head(latest: int, confirmations: int) -> BlockNumber | None:
    """The newest block with ``confirmations`` blocks on top of it; None while there is none."""
    if confirmations < 0:
        raise ValueError("confirmations must be >= 0")
    head = latest - confirmations
    return BlockNumber(head) if head >= 0 else None


def block_ranges(start: int, end: int, max_range: int) -> list[tuple[int, int]]:
    """Split ``[start, end]`` into inclusive chunks of at most ``max_range`` blocks."""
    return [(lo, min(lo + max_range - 1, end)) for lo in range(start, end + 1, max_range)]


class EventPoller:
    """Typed events of some contracts, in chain order, each returned exactly once.

    ``next_block`` is the cursor: the first block not read yet. A daemon stores it to resume.
    """

    def __init__(
        self,
        w3: Web3,
        adapters: Sequence[ContractAdapter],
        *,
        start_block: int,
        confirmations: int = 0,
        max_range: int = 2_000,
    ) -> None:
        self._w3 = w3
        self._adapters = {adapter.address: adapter for adapter in adapters}
        self.next_block = BlockNumber(start_block)
        self.confirmations = confirmations
        self.max_range = max_range

    def poll(self, latest: int | None = None) -> list[ChainEvent]:
        """Events from ``next_block`` up to the safe head; advances the cursor past them."""
        if latest is None:
            latest = self._w3.eth.block_number
        head = safe_head(latest, self.confirmations)
        if head is None or head < self.next_block:
            return []
        events: list[ChainEvent] = []
        for lo, hi in block_ranges(self.next_block, head, self.max_range):
            for log in self._logs(lo, hi):
                adapter = self._adapters.get(Web3.to_checksum_address(log["address"]))
                event = adapter.decode_log(log) if adapter else None
                if event is not None:
                    events.append(event)
            self.next_block = BlockNumber(hi + 1)
        return sorted(events, key=lambda e: e.position)

    def _logs(self, lo: int, hi: int) -> list[LogReceipt]:
        params: dict[str, Any] = {
            "address": list(self._adapters),
            "fromBlock": lo,
            "toBlock": hi,
        }
        try:
            return list(self._w3.eth.get_logs(cast(FilterParams, params)))
        except (requests.RequestException, OSError) as err:
            raise RpcUnreachableError(f"eth_getLogs {lo}..{hi} failed: {err}") from err
