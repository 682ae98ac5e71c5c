"""Request limits enforced before any route runs: body size and requests in flight.

Both are ASGI middleware, so they act before FastAPI parses a body or a dependency authenticates:
an oversized body is refused from its ``Content-Length`` (or as soon as its streamed chunks pass
the limit) without being held in memory, and a burst waits for a free slot in front of the
database pool instead of exhausting it.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM, problem

# routes that touch neither body nor database and must answer under any load
_UNLIMITED_PATHS = frozenset({"/health"})


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    **headers: str,
) -> None:
    """Answer with a problem+json body from ASGI middleware (no route, no exception handler)."""
    body = json.dumps(problem(status, title, detail, field=field, errors=errors)).encode()
    raw = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over ``app.state.settings.max_body_bytes``, on every route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, or pass on with the body already read (at most the limit is held)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int = scope["app"].state.settings.max_body_bytes
        too_large = f"the request body is over the limit of {limit} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await send_problem(
                    send, 400, "Bad request", "Content-Length is not a number", field="body"
                )
                return
            if int(declared) > limit:
                await send_problem(send, 413, "Payload too large", too_large, field="body")
                return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:  # chunked upload without Content-Length, or one that lied
                await send_problem(send, 413, "Payload too large", too_large, field="body")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The already-read body as one message, then the client's own messages (disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class ConcurrencyLimit:
    """At most ``max_concurrent_requests`` requests past this point; the rest wait their turn.

    The database pool has a connection for each of them (`service.db.make_engine`), so no request
    waits on the pool; one that waits here longer than ``max_queue_wait_s`` gets 503 with
    ``Retry-After``, the answer the README promises under overload.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wait for a slot (or answer 503), run the request, free the slot."""
        if scope["type"] != "http" or scope["path"] in _UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state
        slots: anyio.Semaphore = state.request_slots
        acquired = False
        with anyio.move_on_after(state.settings.max_queue_wait_s):  # times the wait only
            await slots.acquire()
            acquired = True
        if not acquired:
            await send_problem(
                send,
                503,
                "Server busy",
                "too many requests in progress; retry shortly",
                retry_after="2",
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()
