"""Typed chain events ↔ JSON-able records: what the ``events`` table stores and replays.

Handlers run on records, not on the typed dataclasses, so a reorg rebuild can replay the table
without the RPC. Bytes become ``0x`` hex, integers stay integers (Python's JSON keeps them exact).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from node.chain.events import ChainEvent

_LOCATION = {"block_number", "log_index", "tx_hash"}


@dataclass(frozen=True)
class EventRecord:
    """One decoded log as the indexer stores it."""

    name: str
    contract: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    args: dict[str, Any]
    block_time: int | None = None

    @property
    def job_id(self) -> int | None:
        value = self.args.get("job_id")
        return int(value) if value is not None else None

    @property
    def account(self) -> str | None:
        for key in ("account", "solver", "submitter", "attester", "challenger", "voter", "juror"):
            if isinstance(self.args.get(key), str):
                return str(self.args[key])
        return None


def record_of(
    event: ChainEvent, *, contract: str, block_hash: str, block_time: int | None = None
) -> EventRecord:
    args = {
        field.name: _jsonable(getattr(event, field.name))
        for field in dataclasses.fields(event)
        if field.name not in _LOCATION
    }
    return EventRecord(
        name=type(event).__name__,
        contract=contract,
        block_number=int(event.block_number),
        block_hash=block_hash,
        log_index=event.log_index,
        tx_hash=event.tx_hash,
        args=args,
        block_time=block_time,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, list | tuple):  # address[], bytes32[], uint256[] arguments
        return [_jsonable(v) for v in value]
    return str(value)
