"""``POST /specs``: validate a job spec with the CLI's pydantic model, store its canonical JSON."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Body, HTTPException
from sqlalchemy.exc import IntegrityError

from marketplace_api import crud
from marketplace_api.api.deps import SessionDep, StateDep
from marketplace_api.schemas import SpecStored
from node.errors import SpecError
from node.training.spec import parse_spec

router = APIRouter(tags=["specs"])
ON_CHAIN_RUNTIME = "repro-v1"
"""Only this runtime's results can be re-executed bit for bit (docs/RUNTIME.md); the CLI rejects others."""


@router.post("/specs", response_model=SpecStored, status_code=201)
def post_spec(
    session: SessionDep,
    state: StateDep,
    spec: dict[str, Any] = Body(
        ..., description="A job spec (docs/PROTOCOL.md §3) as a JSON object."
    ),
) -> SpecStored:
    """422 with every invalid field named; 201 with the spec's address and ``specHash``.

    A body past ``spec_max_bytes`` never reaches this route: ``BodyLimit`` answers 413 first."""
    try:
        parsed = parse_spec(spec)
    except SpecError as err:
        raise HTTPException(422, str(err)) from None
    if parsed.runtime != ON_CHAIN_RUNTIME:
        raise HTTPException(
            422,
            f"runtime {parsed.runtime!r} is for local comparison only: on-chain jobs must use "
            f"{ON_CHAIN_RUNTIME!r}",
        )
    canonical = parsed.canonical_json()
    address = state.blobs.write(canonical)
    crud.save_spec(
        session,
        address=address,
        architecture=parsed.model.architecture,
        runtime=parsed.runtime,
        steps=parsed.steps,
        canonical=canonical.decode(),
    )
    try:
        session.commit()
    except IntegrityError:  # the same spec stored concurrently: it is there either way
        session.rollback()
    return SpecStored(
        address=address,
        spec_hash="0x" + parsed.spec_hash().hex(),
        segments=parsed.segments,
        spec=json.loads(canonical),
    )
