"""Templates, number formatting, and the route class that turns errors into HTML pages."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

import models
from service.dashboard.auth import LoginRequired
from service.errors import ServiceError

log = logging.getLogger("bayescale.dashboard")
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def format_number(value: Any, digits: int = 4) -> str:
    """A number for a table cell: ``digits`` significant digits, exponent form when large/small."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "∞" if value > 0 else ("−∞" if value < 0 else "NaN")
    return f"{value:.{digits}g}"


TEMPLATES.env.filters["num"] = format_number


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with ``context``."""
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


def error_page(
    request: Request,
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    """The error page: what went wrong, and each bad field or row when there are several."""
    request.state.failed = True  # the request's database session rolls back (auth.db_session)
    return page(
        request, "error.html", status=status, title=title, detail=detail, errors=errors or []
    )


class DashboardRoute(APIRoute):
    """A route whose errors render as HTML pages (the JSON API answers problem+json instead).

    No session: a redirect to the login page. Service errors (403 role or CSRF, 404, 409, 422)
    and model errors (422 naming the field) become the error page with that status.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with the HTML error rendering."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                request.state.failed = True
                return RedirectResponse("/login", status_code=303)
            except ServiceError as exc:
                return error_page(request, exc.status, exc.title, exc.detail, exc.errors)
            except models.BayescaleError as exc:
                return error_page(request, 422, "Invalid input", exc.message)
            except RequestValidationError as exc:
                errors = [
                    {"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
                    for e in exc.errors()
                ]
                return error_page(request, 422, "Invalid input", "the form is incomplete", errors)

        return guarded
