"""Client errors: the server's problem+json answers as one exception type.

The client never raises ``httpx`` errors for a status: every non-2xx answer becomes a
:class:`BayescaleError` carrying the problem's fields (RFC 9457) and the field at fault. A
request that never got an answer (connection refused, timed out) after every retry is a
:class:`BayescaleError` with ``status`` None.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError


class BayescaleError(Exception):
    """An error answer of the bayescale API, or a request that could not be made.

    Attributes
    ----------
    status : int or None
        HTTP status; None when no answer arrived (connection error, timeout) or the request was
        refused before sending (invalid arguments, status 422 then).
    title, detail : str
        The problem's short title and its explanation.
    field : str or None
        The parameter, field or header at fault (``"sampler.draws"``, ``"rows.3.loss"``).
    errors : list of dict
        Every invalid field or row of a rejected batch (``{"field": ..., "message": ...}``).
    retry_after : float or None
        Seconds the server asked to wait (429 and 503 answers).
    """

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        title: str = "Error",
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        where = f" [{field}]" if field else ""
        code = f"{status} " if status is not None else ""
        super().__init__(f"{code}{title}: {detail}{where}")
        self.status, self.title, self.detail = status, title, detail
        self.field, self.errors, self.retry_after = field, errors or [], retry_after


class FitFailedError(BayescaleError):
    """A fit job ended ``failed``; ``detail`` is the worker's reason, ``fit_id`` the job."""

    def __init__(self, fit_id: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason, title=f"Fit {fit_id} failed", field=field)
        self.fit_id = fit_id


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (the delay form; an HTTP date counts as absent)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from_response(response: httpx.Response) -> BayescaleError:
    """The :class:`BayescaleError` of a non-2xx answer, problem+json or not (e.g. a proxy's)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        reason = response.reason_phrase or "error"
        return BayescaleError(
            response.text[:500] or reason,
            status=response.status_code,
            title=reason,
            retry_after=retry_after_seconds(response),
        )
    return BayescaleError(
        str(body.get("detail", "")),
        status=response.status_code,
        title=str(body.get("title", response.reason_phrase)),
        field=body.get("field"),
        errors=body.get("errors") or [],
        retry_after=retry_after_seconds(response),
    )


def error_from_validation(exc: ValidationError) -> BayescaleError:
    """Arguments refused before sending, named like the server would name them."""
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return BayescaleError(
        detail,
        status=422,
        title="Invalid input",
        field=errors[0]["field"] if errors else None,
        errors=errors,
    )
