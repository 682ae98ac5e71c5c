"""The error of a plot request that cannot be drawn (kind, format, family or option at fault)."""

from __future__ import annotations

from models import BayescaleError


class PlotError(BayescaleError):
    """A plot that cannot be drawn for this request; ``field`` names the kind, format or option."""
