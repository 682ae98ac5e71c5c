"""Security headers on every response (HTML pages, JSON, plots, errors).

The dashboard loads only its own stylesheet, script and plot images, so its policy allows
``'self'`` and nothing inline. The API documentation pages (``/docs``, ``/redoc``) are built by
FastAPI with an inline start-up script: their policy allows exactly that script by its SHA-256
(computed from the page as served, so it follows whatever the page holds), the origins the page
loads its assets from, and inline styles (Swagger UI and ReDoc style elements at run time).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
FIXED = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
_ASSET = re.compile(rb"""(?:src|href)\s*[=:]\s*["'](https?://[^"'/]+)/""")


def docs_policy(html: bytes) -> str:
    """The policy of a documentation page: its inline scripts by hash, its asset origins."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    origins = sorted({m.decode() for m in _ASSET.findall(html) if urlsplit(m.decode()).netloc})
    sources = " ".join(["'self'", *origins])
    return (
        f"default-src 'self'; script-src {' '.join([sources, *hashes])}; "
        f"style-src {sources} 'unsafe-inline'; img-src {sources} data:; worker-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """ASGI middleware: adds the headers above; buffers only the documentation pages."""

    def __init__(self, app: ASGIApp, docs_paths: Iterable[str]) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _merged(message.get("headers", []), CSP)
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}
        body = b""

        async def collect(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    start["headers"] = _merged(start.get("headers", []), docs_policy(body))
                    await send(start)
                    await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, collect)


def _merged(headers: Iterable[tuple[bytes, bytes]], policy: str) -> list[tuple[bytes, bytes]]:
    ours = {name for name, _ in FIXED} | {b"content-security-policy"}
    kept = [(k, v) for k, v in headers if k.lower() not in ours]
    return [*kept, *FIXED, (b"content-security-policy", policy.encode())]
