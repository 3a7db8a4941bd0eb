"""Shared parameter types and row→model conversions of the routes."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import HTTPException, Query
from fastapi import Path as PathParam
from web3 import Web3

from marketplace_api.models import Event, Job
from marketplace_api.schemas import EventPublic, JobPublic
from node.errors import TraceError
from node.trace.manifest import Manifest, parse_manifest

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
MAX_DB_INT = 2**63 - 1

AddressQuery = Annotated[
    str | None, Query(pattern=ADDRESS_PATTERN, description="A 0x-prefixed 20-byte address.")
]
AddressPath = Annotated[str, PathParam(pattern=ADDRESS_PATTERN)]
JobIdPath = Annotated[int, PathParam(ge=0, le=MAX_DB_INT, description="The on-chain job id.")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


def checksum(address: str | None) -> str | None:
    return Web3.to_checksum_address(address) if address is not None else None


def spec_address(spec_hash: str) -> str:
    return "sha256:" + spec_hash.removeprefix("0x")


def job_public(job: Job) -> JobPublic:
    return JobPublic(
        job_id=job.job_id,
        status=job.status,
        submitter=job.submitter,
        solver=job.solver,
        spec_hash=job.spec_hash,
        spec_address=spec_address(job.spec_hash),
        reward=job.reward,
        verifier_fee=job.verifier_fee,
        steps=job.steps,
        checkpoint_every=job.checkpoint_every,
        segments=job.steps // job.checkpoint_every if job.checkpoint_every else 0,
        solve_timeout=job.solve_timeout,
        sample_rate_bps=job.sample_rate_bps,
        attempt=job.attempt,
        locked_stake=job.locked_stake,
        deadline=job.deadline,
        open_disputes=job.open_disputes,
        frozen=job.open_disputes > 0,
        manifest_hash=job.manifest_hash,
        posted_block=job.posted_block,
        posted_tx=job.posted_tx,
        updated_block=job.updated_block,
    )


def event_public(row: Event) -> EventPublic:
    return EventPublic(
        name=row.name,
        contract=row.contract,
        block_number=row.block_number,
        log_index=row.log_index,
        tx_hash=row.tx_hash,
        args=dict(row.args),
    )


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


@lru_cache(maxsize=256)
def load_manifest(path: Path) -> Manifest | None:
    """The parsed manifest blob at ``path`` (blobs are immutable, so caching is safe)."""
    try:
        return parse_manifest(path.read_bytes())
    except (OSError, TraceError):
        return None


def load_json_blob(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
