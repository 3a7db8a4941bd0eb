"""``/market``: the order book (open jobs priced now), ``/market/clearing`` (the price each claim
fixed, over time) and ``/solvers/{address}`` (a solver's track record). docs/MARKET.md,
"Market view".

An open job's offer moves with the chain's clock, so the book reads each open job's terms and the
latest block from the chain (``AppState.chain``) rather than from the index; everything else is
indexed. The estimate behind a price per PFLOP comes from the spec blob this API stores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from fastapi import APIRouter, HTTPException, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from web3.exceptions import Web3Exception

from marketplace_api import market_crud
from marketplace_api.api.deps import SessionDep, StateDep
from marketplace_api.api.routes.common import AddressPath, Limit, Offset, checksum, spec_address
from marketplace_api.api.state import AppState
from marketplace_api.market_models import Claim
from marketplace_api.market_schemas import (
    ClearingPage,
    ClearingPoint,
    MarketPage,
    SolverClaim,
    SolverRecordPublic,
    TrackRecord,
)
from marketplace_api.market_view import job_pflop, load_estimate, market_job, order_book
from node.chain.pricing import price_per_pflop
from node.errors import ChainError, SpecError
from node.training.estimate import JobEstimate
from node.training.spec import MAX_SPEC_BYTES, JobSpec, load_spec

router = APIRouter(tags=["market"])
SOLVER_CLAIMS = 50


@dataclass(frozen=True)
class _FixedTerms:
    """A job's posted reward as a fixed price: the book's terms without a chain connection."""

    floor: int
    cap: int
    ramp_start: int = 0
    ramp: int = 0
    min_finalized: int = 0


@router.get("/market", response_model=MarketPage)
async def market(state: StateDep) -> Response:
    """Open jobs, best paid per PFLOP first: the offer now, cap, floor, time left in the ramp,
    the record a claimer needs, the spec's requirements and estimate."""
    return Response(await run_in_threadpool(_cached_book, state), media_type="application/json")


def _cached_book(state: AppState) -> bytes:
    """The book priced at the chain's latest block, cached per block: offers only move when a
    block does, and the indexer's writes invalidate the cache as for every list."""
    chain = state.chain
    try:
        head = chain.w3.eth.get_block("latest") if chain is not None else None
        key = f"market@{head['hash'].hex()}" if head is not None else "market"
        body = state.cache.get(key)
        if body is None:
            generation = state.cache.generation
            now = int(head["timestamp"]) if head is not None else int(time.time())
            body = _book(state, now).model_dump_json().encode()
            state.cache.put(key, body, generation)
    except (ChainError, OSError, Web3Exception) as err:
        raise HTTPException(
            503, f"the chain could not be read for the market view: {err}"
        ) from None
    return body


def _book(state: AppState, now: int) -> MarketPage:
    chain = state.chain
    with state.sessions() as session:
        items = []
        for job in market_crud.open_jobs(session):
            terms = (
                state.terms.get((job.job_id, job.attempt), partial(chain.terms_of, job.job_id))
                if chain is not None
                else None
            ) or _FixedTerms(floor=int(job.reward), cap=int(job.reward))
            known = _estimate(state, session, job.spec_hash)
            items.append(
                market_job(
                    job_id=job.job_id,
                    submitter=job.submitter,
                    spec_hash=job.spec_hash,
                    attempt=job.attempt,
                    steps=job.steps,
                    verifier_fee=int(job.verifier_fee),
                    solve_timeout=job.solve_timeout,
                    terms=terms,
                    now=now,
                    spec=known[0] if known else None,
                    estimate=known[1] if known else None,
                )
            )
    return MarketPage(now=now, live=chain is not None, items=order_book(items), total=len(items))


def _estimate(
    state: AppState, session: Session, spec_hash: str
) -> tuple[JobSpec, JobEstimate] | None:
    return state.estimates.get(
        spec_hash, load_estimate(partial(_load_spec, state, session, spec_hash))
    )


def _load_spec(state: AppState, session: Session, spec_hash: str) -> JobSpec | None:
    """The job's spec from this API's store, validated like any other spec (a submitter chose
    these bytes); None when absent, oversized or invalid."""
    address = spec_address(spec_hash)
    raw: bytes | None = None
    stored = market_crud.spec_json(session, address)
    if stored is not None:
        raw = stored.encode()
    else:
        path = state.blobs.path(address)
        try:
            if path.is_file() and path.stat().st_size <= MAX_SPEC_BYTES:
                raw = path.read_bytes()
        except OSError:
            raw = None
    if raw is None:
        return None
    try:
        return load_spec(raw)
    except SpecError:
        return None


@router.get("/market/clearing", response_model=ClearingPage)
def clearing(
    session: SessionDep, state: StateDep, limit: Limit = 200, offset: Offset = 0
) -> ClearingPage:
    """Claims newest first: each claim's job, block and time, the price it fixed, the cap it was
    fixed under, and the price per PFLOP of the job's estimate (None without the spec)."""
    rows, total = market_crud.list_claims(session, limit=limit, offset=offset)
    return ClearingPage(
        items=[
            ClearingPoint(
                job_id=c.job_id,
                attempt=c.attempt,
                solver=c.solver,
                price=c.price,
                cap=c.cap,
                price_per_pflop=_per_pflop(state, session, c),
                block_number=c.block_number,
                block_time=c.block_time,
                tx_hash=c.tx_hash,
            )
            for c in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


def _per_pflop(state: AppState, session: Session, claim: Claim) -> float | None:
    known = _estimate(state, session, claim.spec_hash)
    if known is None:
        return None
    pflop = job_pflop(known[1], claim.steps)
    return price_per_pflop(int(claim.price), pflop) if pflop > 0 else None


@router.get("/solvers/{address}", response_model=SolverRecordPublic)
def solver_record(address: AddressPath, session: SessionDep, state: StateDep) -> SolverRecordPublic:
    """A solver's track record: the chain's counters (finalized, value, frauds, timeouts), the
    same recounted from indexed events, and its latest claims with the prices they fixed."""
    solver = str(checksum(address))
    record = None
    if state.chain is not None:
        try:
            live = state.chain.record_of(solver)
        except (ChainError, OSError, Web3Exception) as err:
            raise HTTPException(503, f"the chain could not be read for the record: {err}") from None
        record = TrackRecord(
            finalized=live.finalized,
            value=str(live.value),
            frauds=live.frauds,
            timeouts=live.timeouts,
        )
    finalized, value, frauds, timeouts = market_crud.recounted_record(session, solver)
    rows, _ = market_crud.list_claims(session, solver=solver, limit=SOLVER_CLAIMS)
    statuses = market_crud.job_statuses(session, [c.job_id for c in rows])
    return SolverRecordPublic(
        address=solver,
        record=record,
        indexed=TrackRecord(
            finalized=finalized, value=str(value), frauds=frauds, timeouts=timeouts
        ),
        claims=[
            SolverClaim(
                job_id=c.job_id,
                attempt=c.attempt,
                price=c.price,
                price_per_pflop=_per_pflop(state, session, c),
                status=statuses.get(c.job_id, "unknown"),
                block_number=c.block_number,
                block_time=c.block_time,
            )
            for c in rows
        ],
    )
