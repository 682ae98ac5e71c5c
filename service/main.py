"""The FastAPI application: assembly only (routes, error handlers, lifespan)."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

import models
from service import dashboard
from service.config import Settings, get_settings
from service.db import make_engine, session_factory
from service.docs import DOCS_PATHS, install_docs
from service.errors import PROBLEM, ServiceError, problem
from service.fit_store import FitCache
from service.headers import SecurityHeaders
from service.input_guard import InputGuard
from service.limits import BodyLimit, ConcurrencyLimit
from service.migrate import upgrade
from service.queue import queue_for
from service.ratelimit import RateLimited, RateLimiter
from service.routes import datasets, families, fits, health, keys, planning, plots, projects
from service.schemas import ObservationBatchRequest, ProblemResponse
from service.workers import WorkerPool

log = logging.getLogger("bayescale")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; ``settings`` overrides the environment (tests, embedding)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or get_settings()
        # one connection per request slot, plus /ready's probe and one spare
        engine = make_engine(cfg.resolved_database_url, pool_size=cfg.max_concurrent_requests + 2)
        app.state.request_slots = anyio.Semaphore(cfg.max_concurrent_requests)
        # sync handlers and dependencies run on anyio's thread pool: never fewer threads than slots
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, cfg.max_concurrent_requests)
        if engine.dialect.name == "sqlite":
            upgrade(engine)  # embedded default migrates itself; deployments run `bayescale migrate`
        app.state.settings = cfg
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.rate_limiter = RateLimiter(cfg.rate_limit_per_minute)
        app.state.fit_cache = FitCache(cfg.fit_cache_size)
        queue = queue_for(cfg, app.state.sessions)
        pool = WorkerPool(
            cfg.workers, cfg.resolved_database_url, cfg.fit_lease_s, cfg.fit_time_limit_s
        )
        if queue is not None:  # team mode: `bayescale worker` processes run the fits
            app.state.enqueue = queue.enqueue
            app.state.queue_check = queue.check
        else:  # embedded workers poll the database, so submitting needs no message
            app.state.enqueue = lambda fit_id: None
            if cfg.workers:
                pool.start()
        try:
            yield
        finally:
            pool.stop()
            if queue is not None:
                queue.broker.close()
            engine.dispose()

    app = FastAPI(
        title="bayescale",
        version="0.1.0",
        description="Bayesian scaling-law fits with posterior intervals, shared per project.",
        lifespan=lifespan,
        docs_url=None,  # install_docs serves /docs and /redoc from local assets
        redoc_url=None,
    )
    install_docs(app)
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    for router in (
        health.router,
        families.router,
        keys.router,
        datasets.router,
        fits.router,
        planning.router,
        plots.router,
        projects.router,
        dashboard.router,  # HTML pages at /, not in the OpenAPI schema
    ):
        app.include_router(router)
    # added last = outermost: the body limit acts first, so a slow upload holds no request slot
    app.add_middleware(ConcurrencyLimit)
    app.add_middleware(InputGuard)  # reads the body BodyLimit has bounded
    app.add_middleware(BodyLimit)
    _install_error_handlers(app)
    app.add_middleware(SecurityHeaders, docs_paths=DOCS_PATHS)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's schema plus the models declarations name but FastAPI never sees as parameters.

    The problem+json body of every error response, and the JSON body of the observation upload
    (the route reads raw bytes to also take CSV).
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            components = generate().setdefault("components", {}).setdefault("schemas", {})
            for model in (ProblemResponse, ObservationBatchRequest):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(schema.pop("$defs", {}))
                components[model.__name__] = schema
        return app.openapi_schema  # type: ignore[return-value]

    return openapi


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        body = problem(exc.status, exc.title, exc.detail, field=exc.field, errors=exc.errors)
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return JSONResponse(body, status_code=exc.status, media_type=PROBLEM, headers=headers)

    @app.exception_handler(models.BayescaleError)
    async def model_error(_: Request, exc: models.BayescaleError) -> JSONResponse:
        body = problem(422, "Invalid input", exc.message, field=exc.field)
        return JSONResponse(body, status_code=422, media_type=PROBLEM)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        body = problem(
            422,
            "Invalid input",
            detail,
            field=errors[0]["field"] if errors else None,
            errors=errors,
        )
        return JSONResponse(body, status_code=422, media_type=PROBLEM)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # routing errors (no such path, method not allowed) speak problem+json like the rest
        title = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) else title
        body = problem(exc.status_code, title, detail)
        return JSONResponse(
            body, status_code=exc.status_code, media_type=PROBLEM, headers=exc.headers
        )

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def pool_exhausted(_: Request, exc: SQLAlchemyTimeoutError) -> JSONResponse:
        # no pooled connection came free in time (the request slots should prevent it):
        # nothing was done, and the client may retry
        log.warning("database pool exhausted")
        body = problem(503, "Server busy", "no database connection free; retry shortly")
        return JSONResponse(body, status_code=503, media_type=PROBLEM, headers={"Retry-After": "2"})

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unavailable(_: Request, exc: DBAPIError) -> JSONResponse:
        # the database is down or restarting (or SQLite stayed locked past its busy timeout):
        # the transaction rolled back, nothing was stored, and the client may simply retry
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        body = problem(503, "Database unavailable", "the database is unreachable; retry shortly")
        return JSONResponse(body, status_code=503, media_type=PROBLEM, headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        body = problem(500, "Internal error", "the server failed; the error was logged")
        return JSONResponse(body, status_code=500, media_type=PROBLEM)


def _field_error(error: Any) -> dict[str, Any]:
    # "[key]" is pydantic's marker for a bad dict key: the key itself, just before it, is the field
    skip = ("body", "query", "path", "header", "[key]")
    loc = [str(p) for p in error.get("loc", ()) if p not in skip]
    return {"field": ".".join(loc) or "body", "message": error.get("msg", "invalid")}
