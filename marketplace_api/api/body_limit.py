"""``BodyLimit``: a byte cap on request bodies that FastAPI parses itself (``POST /specs``).

FastAPI reads and JSON-parses a body before the route runs, so a route cannot check the size
first: a chunked request (no ``Content-Length``) of any size would be read into memory and parsed.
This middleware counts the bytes as the app receives them and answers 413 as soon as the cap is
passed. Blob uploads stream under their own limit (``BlobFiles.spool``) and are not capped here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """413 past ``limits[path]`` bytes, whether declared in ``Content-Length`` or streamed."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int]) -> None:
        self.app = app
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.get(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        too_large = f"a body on {scope['path']} may be at most {limit} bytes"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, too_large)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, too_large)  # FastAPI re-raises it from its body parser
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
