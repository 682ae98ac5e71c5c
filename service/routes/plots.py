"""Plots of a succeeded fit as PNG or SVG: ``GET …/fits/{fit_id}/plots/{kind}.{fmt}``.

Read role, like predict. The handler is synchronous (FastAPI runs it in its thread pool):
rendering is CPU work, and ``plots`` never touches pyplot, so concurrent renders are safe.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response

import plots
from service import plotting
from service.deps import PROJECT_ERRORS, FitCacheDep, ReadProject, SessionDep, SettingsDep
from service.errors import problems

PlotKind = StrEnum("PlotKind", {name: name for name in plots.KINDS})  # type: ignore[misc]


class PlotFormat(StrEnum):
    """Image formats."""

    png = "png"
    svg = "svg"


_IMAGE = {"schema": {"type": "string", "format": "binary"}}

router = APIRouter(prefix="/v1/projects/{project}/fits/{fit_id}", tags=["plots"])


@router.get(
    "/plots/{kind}.{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "the plot",
            "content": {plots.MEDIA_TYPES[f]: _IMAGE for f in plots.FORMATS},
        },
        **PROJECT_ERRORS,
        **problems(409),
    },
)
def read_plot(
    fit_id: str,
    kind: PlotKind,
    fmt: PlotFormat,
    project: ReadProject,
    session: SessionDep,
    settings: SettingsDep,
    cache: FitCacheDep,
    input: Annotated[str | None, Query(description="fit: the input on the x axis")] = None,
    group: Annotated[str | None, Query(description="a fitted group (default: all)")] = None,
    interval: Annotated[str | None, Query(description="fit: new_run or mean")] = None,
    budgets: Annotated[
        list[float] | None, Query(description="frontier, target_probability: FLOPs (repeat)")
    ] = None,
    k: Annotated[float | None, Query(description="FLOPs per parameter per token")] = None,
    target: Annotated[float | None, Query(description="target_probability: the loss")] = None,
    targets: Annotated[list[float] | None, Query(description="iso_loss: losses (repeat)")] = None,
    at: Annotated[float | None, Query(description="double_descent: the fixed input")] = None,
    var: Annotated[list[str] | None, Query(description="trace, rank: variables (repeat)")] = None,
    extend: Annotated[
        float | None, Query(description="members: draw to this multiple of the largest run")
    ] = None,
) -> Response:
    """The plot ``kind`` of the fit as ``fmt``; options a kind does not take are a 422."""
    options = {
        "input": input,
        "group": group,
        "interval": interval,
        "budgets": budgets,
        "k": k,
        "target": target,
        "targets": targets,
        "at": at,
        "var": var,
        "extend": extend,
    }
    image, media_type = plotting.render_fit_plot(
        session, settings, project, fit_id, kind.value, fmt.value, options, cache
    )
    return Response(image, media_type=media_type)
