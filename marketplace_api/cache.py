"""A small response cache for hot list endpoints (``GET /jobs`` on a dashboard or a busy client).

Entries are tagged with a generation that the in-process indexer bumps whenever it writes, and
expire after a TTL for writers in other processes; so a cached page is never older than one
indexer batch (in process) or ``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class ResponseCache:
    def __init__(self, *, ttl: float, max_entries: int = 512) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.generation = 0
        self._entries: OrderedDict[str, tuple[int, float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        generation, stamp, body = entry
        if generation != self.generation or time.monotonic() - stamp > self.ttl:
            return None
        return body

    def put(self, key: str, body: bytes, generation: int) -> None:
        """Store ``body`` computed at ``generation`` (read before the query ran)."""
        with self._lock:
            self._entries[key] = (generation, time.monotonic(), body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self) -> None:
        self.generation += 1
