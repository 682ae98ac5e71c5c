"""Service errors and their problem+json rendering (RFC 9457)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

PROBLEM = "application/problem+json"


class ServiceError(Exception):
    """An error with an HTTP status, a short title, and the field at fault if any."""

    status = 400
    title = "Bad request"

    def __init__(
        self, detail: str, *, field: str | None = None, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.errors = errors or []


class Unauthorized(ServiceError):
    """No or an invalid API key."""

    status, title = 401, "Unauthorized"


class Forbidden(ServiceError):
    """The key's role does not allow this."""

    status, title = 403, "Forbidden"


class NotFound(ServiceError):
    """No such resource in this project (also what another project's key sees)."""

    status, title = 404, "Not found"


class Conflict(ServiceError):
    """The request conflicts with stored state (e.g. a reused idempotency key)."""

    status, title = 409, "Conflict"


class Invalid(ServiceError):
    """Semantically invalid input; ``errors`` lists each bad row and field."""

    status, title = 422, "Invalid input"


class UnsupportedMediaType(ServiceError):
    """A body in a format the route does not read."""

    status, title = 415, "Unsupported media type"


class TooLarge(ServiceError):
    """Body or batch over the configured limit."""

    status, title = 413, "Payload too large"


def problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The problem+json body."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v not in (None, [])})
    return body


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a router or route: these statuses answer with a problem+json body."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemResponse"}}},
        }
        for status in statuses
    }
