"""Run an ``Indexer`` in a background thread beside the API (``crowdtrain api serve``)."""

from __future__ import annotations

import logging
import threading

from marketplace_api.indexer.indexer import Indexer
from node.errors import ChainError

log = logging.getLogger(__name__)


class IndexerThread:
    """Ticks the indexer until stopped; sleeps ``interval`` only when it is caught up.

    Chain errors (an RPC restart, a timeout) are logged and retried: the cursor in the database
    makes a retry safe.
    """

    def __init__(self, indexer: Indexer, *, interval: float = 0.5) -> None:
        self.indexer = indexer
        self.interval = interval
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="indexer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                new = self.indexer.tick()
                self.last_error = None
            except ChainError as err:
                self.last_error = str(err)
                log.warning("indexer: %s", err)
                new = 0
            except Exception as err:  # keep serving the API; the next tick retries
                self.last_error = f"{type(err).__name__}: {err}"
                log.exception("indexer tick failed")
                new = 0
            stats = self.indexer.stats
            behind = stats.next_block <= stats.chain_head - self.indexer.confirmations
            if not behind or (new == 0 and self.last_error is not None):
                self._stop.wait(self.interval)
