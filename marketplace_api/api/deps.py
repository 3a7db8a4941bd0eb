"""Request dependencies: ``StateDep`` and ``SessionDep`` (one session per request)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from marketplace_api.api.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.crowdtrain
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
