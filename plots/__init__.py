"""Plots of a loaded fit: PNG or SVG from pure functions over :class:`models.Fit`.

``plots.render(kind, fit, fmt="png", **options)`` returns the bytes; ``plots.figure`` the
:class:`~matplotlib.figure.Figure` (for tests and notebooks); ``plots.KINDS`` lists every kind
with the families it applies to and its options. Figures are built without pyplot, so rendering
is safe in a server's threads. This package may import ``models`` and never the service or CLI.

Kinds: ``fit``, ``residuals``, ``exponents``, ``prior_posterior`` (:mod:`plots.fit`);
``double_descent``, ``iso_loss`` (:mod:`plots.curves`); ``frontier``, ``target_probability``
(:mod:`plots.planning`); ``trace``, ``rank``, ``energy``, ``pareto_k`` (:mod:`plots.diagnostics`).
"""

from plots._common import FORMATS, MEDIA_TYPES
from plots.errors import PlotError
from plots.registry import (
    CHAIN_KINDS,
    KINDS,
    Option,
    PlotKind,
    figure,
    get_kind,
    option_names,
    render,
)

__all__ = [
    "CHAIN_KINDS",
    "FORMATS",
    "KINDS",
    "MEDIA_TYPES",
    "Option",
    "PlotError",
    "PlotKind",
    "figure",
    "get_kind",
    "option_names",
    "render",
]
