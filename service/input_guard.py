"""Refuse, before any route runs, input that cannot be stored or served back.

The path, query, headers, a JSON body (`service.strict_json`), a form: a NUL byte, a lone
surrogate, NaN, an overflowing number, a huge integer or deep nesting is a 422 problem+json naming
where it sits (``rows.0.meta.note``, a query parameter, a header, a form field), before
authentication and parsing; one rule for every route and both databases.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import Invalid
from service.limits import send_problem
from service.strict_json import loads, text_problem


def _content_type(scope: Scope) -> str:
    raw: bytes = dict(scope["headers"]).get(b"content-type", b"")
    return raw.decode("latin-1").split(";")[0].strip().lower()


def refusal(scope: Scope, body: bytes) -> Invalid | None:
    """Why this request's path, query, headers or body cannot be taken, if they cannot.

    A CSV body is left to `service.parsing`, which names the row and column of a bad cell.
    """
    if problem := text_problem(scope["path"]):
        return Invalid(f"the path {problem}", field="path")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, encoding="utf-8"):
        if problem := text_problem(name + value):
            return Invalid(f"query parameter {name!r} {problem}", field=name)
    for name, value in scope["headers"]:
        if b"\x00" in value:
            return Invalid("a header contains a NUL byte", field=name.decode("latin-1"))
    if not body:
        return None
    kind = _content_type(scope)
    if kind == "" or kind == "application/json" or kind.endswith("+json"):
        try:
            loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # not JSON: the route says so in its own words
        except Invalid as exc:
            return exc
    elif kind == "application/x-www-form-urlencoded":
        form = body.decode("latin-1")
        for name, value in parse_qsl(form, keep_blank_values=True, encoding="utf-8"):
            if problem := text_problem(name + value):
                return Invalid(f"form field {name!r} {problem}", field=name)
    elif kind.startswith("multipart/") and b"\x00" in body:  # form fields and CSV files: text
        return Invalid("the body contains a NUL byte", field="body")
    return None


class InputGuard:
    """422 for a request carrying text that cannot be stored (see the module docstring).

    Runs inside `service.limits.BodyLimit`, which has read (and bounded) the body already.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body, refuse or pass the request on with the body replayed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        first = await receive()
        body = first.get("body", b"") if first["type"] == "http.request" else b""
        found = refusal(scope, body)
        if found is not None:
            await send_problem(
                send, 422, found.title, found.detail, field=found.field, errors=found.errors
            )
            return
        pending = True

        async def replay() -> Message:
            nonlocal pending
            if pending:
                pending = False
                return first
            return await receive()

        await self.app(scope, replay, send)
