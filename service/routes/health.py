"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.db import READ_ONLY

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
def ready(request: Request) -> JSONResponse:
    """Database (and queue, when configured) reachable; 503 while either is down."""
    checks: dict[str, str] = {}
    try:
        with request.app.state.engine.connect() as connection:
            connection.execution_options(**READ_ONLY).execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
    queue = getattr(request.app.state, "queue_check", None)
    if queue is not None:
        checks["queue"] = queue()
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
    )
