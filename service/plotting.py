"""Plots of a stored fit: the one call the plot route (and the dashboard) make.

The posterior comes from :func:`service.fit_store.loaded` (parsed once per process, as for
prediction); a fit submitted with a holdout gets its held-out runs marked, rebuilt from the
stored observations and the fit's own split (never stored twice).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

import models
import plots
from service import fit_store, jobs
from service.config import Settings
from service.fit_store import FitCache
from service.tables import Project


def render_fit_plot(
    session: Session,
    settings: Settings,
    project: Project,
    fit_id: str,
    kind: str,
    fmt: str,
    options: dict[str, Any],
    cache: FitCache,
) -> tuple[bytes, str]:
    """The plot's bytes and media type; ``plots.PlotError`` (422) names a bad kind or option.

    404 for an unknown fit, 409 for one that has not succeeded (from ``fit_store.loaded``).
    ``settings`` is part of the signature so that limits on plot work can come from the
    deployment without changing callers.
    """
    result = fit_store.loaded(session, project, fit_id, cache)
    held_out = None
    if plots.get_kind(kind).held_out:
        held_out = _held_out(session, project, fit_id, result)
    image = plots.render(kind, result, fmt=fmt, held_out=held_out, **options)
    return image, plots.MEDIA_TYPES[fmt]


def _held_out(
    session: Session, project: Project, fit_id: str, result: models.Fit
) -> models.ScalingData | None:
    """The runs a backtest fit held out (None for an ordinary fit)."""
    job = fit_store.get(session, project, fit_id)
    holdout = (job.spec or {}).get("holdout")
    if not holdout:
        return None
    data = jobs.load_data(session, job)
    spec = models.FitSpec.from_json(job.spec)
    _, test, _ = models.holdout_split(
        data, spec.family, family_options=spec.family_options, **holdout
    )
    return test
