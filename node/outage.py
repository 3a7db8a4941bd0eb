"""Faults that pass: the chain's RPC endpoint or the blob store is down now and back later.

The daemons' loops (solver, verifier, dataset defense) wait these out instead of exiting: every
step they take is decided from the chain and their journal, so the step cut off by an outage is
simply decided again on the next pass. Anything else still stops the daemon with its one line.
"""

from __future__ import annotations

import logging

import requests

from node.errors import RpcUnreachableError, StorageUnavailableError

OUTAGES: tuple[type[BaseException], ...] = (
    RpcUnreachableError,
    StorageUnavailableError,
    requests.ConnectionError,
    requests.Timeout,
)


def note_outage(log: logging.Logger, err: BaseException, retry_in: float) -> None:
    """One warning line per failed pass (the daemon keeps its claims and retries)."""
    kind = "blob store" if isinstance(err, StorageUnavailableError) else "chain RPC"
    log.warning("%s unavailable, retrying in %.1f s: %s", kind, retry_in, str(err)[:300])
