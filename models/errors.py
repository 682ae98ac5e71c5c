"""Domain errors raised by the modelling library.

The service maps these to HTTP problems (4xx) and the CLI to a one-line message; neither ever sees
a traceback for a user mistake. Every error names the offending field where there is one.
"""

from __future__ import annotations


class BayescaleError(Exception):
    """Base class of every error a user can cause; ``field`` names what was wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class DataError(BayescaleError):
    """Observations that cannot be fitted: missing columns, non-finite or non-positive values."""


class FamilyError(BayescaleError):
    """An unknown family, or an option the family does not take."""


class PriorError(BayescaleError):
    """A prior or pooling specification that does not match the family."""


class SettingsError(BayescaleError):
    """Sampler settings that are impossible (e.g. zero draws)."""


class PredictionError(BayescaleError):
    """A prediction request the fit cannot answer (missing input, unknown group)."""


class IncompatibleFitError(BayescaleError):
    """A persisted fit that this version cannot load."""


class FitTimeoutError(BayescaleError):
    """Sampling did not finish within the fit's time limit (it was stopped)."""
