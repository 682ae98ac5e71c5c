"""The web dashboard: server-rendered HTML pages at ``/`` (Jinja2, one stylesheet, no build).

Pages call the same ``store``, ``fit_store``, ``submissions`` and ``models`` functions as the
JSON routes; sessions are an API key in an HttpOnly cookie (see :mod:`service.dashboard.auth`).
None of these routes are in the OpenAPI schema.
"""

from __future__ import annotations

from fastapi import APIRouter

from service.dashboard import datasets, fits, pages

router = APIRouter(include_in_schema=False)
for _module in (pages, datasets, fits):
    router.include_router(_module.router)
