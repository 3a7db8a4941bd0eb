"""``/blobs/{address}``: content-addressed upload (signed, quota'd, verified) and download
(streamed from disk, with Range support).

An upload is checked in the order that stores nothing on failure: signature, replay, declared
size, then the body is streamed to a temporary file while hashed, its hash and the quota checked,
and only then is it renamed into place and recorded with its spent nonce in one transaction.
That transaction re-checks the quota under a per-uploader lock, so concurrent uploads with fresh
nonces cannot together exceed it (the pre-check alone would let each see the same bytes left).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from marketplace_api import crud
from marketplace_api.api.deps import StateDep
from marketplace_api.api.state import AppState
from marketplace_api.blobs.auth import UploadDenied, UploadGrant, check_upload_signature
from marketplace_api.blobs.files import BlobTooLarge, Spooled
from marketplace_api.schemas import BlobStored

router = APIRouter(prefix="/blobs", tags=["blobs"])
BlobAddress = Annotated[
    str,
    Path(
        pattern=r"^(sha256:)?[0-9a-f]{64}$",
        description="`sha256:<64 lowercase hex>` (or the bare hex digest).",
    ),
]
OCTET_STREAM = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def normalize(address: str) -> str:
    return address if address.startswith("sha256:") else "sha256:" + address


BLOB_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/octet-stream": {}}},
    206: {"description": "The requested range"},
    404: {"description": "No such blob"},
    416: {"description": "Unsatisfiable range"},
}


@router.get("/{address}", response_class=FileResponse, responses=BLOB_RESPONSES)
def get_blob(address: BlobAddress, state: StateDep) -> FileResponse:
    """The blob's bytes; ``Range: bytes=a-b`` returns exactly those bytes (206)."""
    return _file(normalize(address), state)


@router.head("/{address}", response_class=FileResponse, responses=BLOB_RESPONSES)
def head_blob(address: BlobAddress, state: StateDep) -> FileResponse:
    """Whether the blob is stored, and its size (``Content-Length``)."""
    return _file(normalize(address), state)


def _file(address: str, state: AppState) -> FileResponse:
    path = state.blobs.path(address)
    if not path.is_file():
        raise HTTPException(404, f"blob {address} not found")
    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers={"ETag": f'"{address}"', "Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.put(
    "/{address}",
    response_model=BlobStored,
    status_code=201,
    openapi_extra=OCTET_STREAM,
    responses={200: {"model": BlobStored}, 400: {}, 401: {}, 403: {}, 409: {}, 413: {}},
)
async def put_blob(
    address: BlobAddress,
    request: Request,
    state: StateDep,
    x_crowdtrain_signer: Annotated[str | None, Header()] = None,
    x_crowdtrain_signature: Annotated[str | None, Header()] = None,
    x_crowdtrain_expiry: Annotated[str | None, Header()] = None,
    x_crowdtrain_nonce: Annotated[str | None, Header()] = None,
    content_length: Annotated[str | None, Header()] = None,
) -> Response:
    """Store a blob under its SHA-256 address. 201 when stored, 200 when already there."""
    address = normalize(address)
    now = int(time.time())
    try:
        grant = check_upload_signature(
            address,
            signer=x_crowdtrain_signer,
            signature=x_crowdtrain_signature,
            expiry=x_crowdtrain_expiry,
            nonce=x_crowdtrain_nonce,
            now=now,
            max_lifetime_s=state.config.max_signature_lifetime_s,
        )
    except UploadDenied as err:
        state.metrics.uploads.labels("denied").inc()
        raise HTTPException(err.status, str(err)) from None
    checked = await run_in_threadpool(_precheck, state, grant, address, content_length)
    if checked is None:  # already stored: spend the nonce, store nothing new
        await run_in_threadpool(_record, state, grant, address, None, now, 0)
        return _stored(address, state.blobs.path(address).stat().st_size, created=False)
    left, quota = checked
    limit = min(state.config.blob_max_bytes, left)
    try:
        spooled = await state.blobs.spool(request.stream(), limit=limit)
    except BlobTooLarge:
        state.metrics.uploads.labels("too_large").inc()
        if limit < state.config.blob_max_bytes:
            raise HTTPException(403, f"upload quota exceeded: {left} bytes left") from None
        raise HTTPException(413, f"blob larger than the limit of {limit} bytes") from None
    if spooled.address != address:
        state.blobs.discard(spooled)
        state.metrics.uploads.labels("wrong_hash").inc()
        raise HTTPException(
            400, f"the body hashes to {spooled.address}, not to the address {address}"
        )
    try:
        created = await run_in_threadpool(_record, state, grant, address, spooled, now, quota)
    except QuotaRace as race:
        state.metrics.uploads.labels("too_large").inc()
        raise HTTPException(
            403,
            f"upload quota exceeded: {grant.signer} has {race.left} of {quota} bytes left "
            f"(other uploads finished first), this blob has {spooled.size}",
        ) from None
    state.metrics.uploads.labels("stored").inc()
    return _stored(address, spooled.size, created=created)


def _stored(address: str, size: int, *, created: bool) -> Response:
    body = BlobStored(address=address, size=size, created=created).model_dump()
    return JSONResponse(body, status_code=201 if created else 200)


class QuotaRace(Exception):
    """Concurrent uploads by the same signer used the quota up while this body streamed."""

    def __init__(self, left: int) -> None:
        super().__init__(f"{left} bytes left")
        self.left = left


def _precheck(
    state: AppState, grant: UploadGrant, address: str, content_length: str | None
) -> tuple[int, int] | None:
    """Replay, declared size and quota, before a byte is read: (bytes left, quota), or None
    when the blob is already stored."""
    with state.sessions() as session:
        if crud.nonce_used(session, signer=grant.signer, nonce=grant.nonce):
            raise HTTPException(409, f"nonce {grant.nonce} was already used: replayed upload")
        if crud.get_blob(session, address=address) is not None and state.blobs.exists(address):
            return None
        staked = crud.is_staked(session, address=grant.signer)
        used = crud.used_quota(session, uploader=grant.signer)
    quota = state.config.staked_upload_quota_bytes if staked else state.config.upload_quota_bytes
    left = max(0, quota - used)
    declared = int(content_length) if content_length and content_length.isdigit() else None
    if declared is not None and declared > state.config.blob_max_bytes:
        raise HTTPException(
            413, f"blob of {declared} bytes is over the limit of {state.config.blob_max_bytes}"
        )
    if declared is not None and declared > left:
        kind = "staked" if staked else "unstaked"
        raise HTTPException(
            403,
            f"upload quota exceeded: {grant.signer} ({kind}) has {left} of {quota} bytes left, "
            f"this blob has {declared}",
        )
    return left, quota


def _record(
    state: AppState,
    grant: UploadGrant,
    address: str,
    spooled: Spooled | None,
    now: int,
    quota: int,
) -> bool:
    """Spend the nonce and record the blob, moving its file into place; False if it was there.
    Raises QuotaRace (recording nothing) when the signer's stored bytes would exceed ``quota``."""
    created = False
    try:
        with state.sessions() as session, session.begin():
            crud.lock_uploader(session, uploader=grant.signer)
            counts = spooled is not None and crud.get_blob(session, address=address) is None
            crud.record_upload(
                session,
                address=address,
                size=spooled.size if spooled else 0,
                uploader=grant.signer,
                nonce=grant.nonce,
                expiry=grant.expiry,
                now=now,
            )
            if counts and spooled is not None:
                session.flush()  # the write takes SQLite's writer lock before the sum is read
                used = crud.used_quota(session, uploader=grant.signer)
                if used > quota:
                    raise QuotaRace(max(0, quota - used + spooled.size))
            if spooled is not None:
                created = state.blobs.commit(spooled)
    except QuotaRace:
        if spooled is not None:
            state.blobs.discard(spooled)
        raise
    except IntegrityError:
        if spooled is not None:
            if created:
                state.blobs.remove(address)
            state.blobs.discard(spooled)
        raise HTTPException(409, f"nonce {grant.nonce} was already used: replayed upload") from None
    return created
