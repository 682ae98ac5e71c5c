"""Training runs: thinning long trajectories, and the run effect in likelihood and prediction.

Checkpoints of one run share its seed, data order and optimizer, so their residuals move
together. The model gives each named run (of two rows or more) an effect on log loss,
``b_r ~ Normal(0, sigma_run)`` (:mod:`models.build`); a *new* run draws a fresh
``b_new ~ Normal(0, sigma_run)``.

Long trajectories are thinned before fitting to at most ``max_per_run`` checkpoints per run,
log-spaced along the run's training axis (``steps``, else ``data``, else ``compute``), first and
last always kept. Default :data:`DEFAULT_MAX_PER_RUN` = 30: ten per decade over three decades of
steps, enough to pin the curvature of a 3-5 parameter law, while NUTS cost grows with the rows and
a run's neighbouring checkpoints add little information beyond its shape (they share the run
effect and are nearly equal).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from models import defaults
from models.data import ScalingData
from models.errors import SettingsError
from models.posterior import flat

DEFAULT_MAX_PER_RUN = defaults.DEFAULT_MAX_PER_RUN
# The axis a run is thinned along: its training time, in the first unit the data has.
RUN_AXES = ("steps", "data", "compute")


@dataclass(frozen=True)
class Thinning:
    """What thinning did: reported in :class:`~models.diagnostics.Diagnostics`."""

    max_per_run: int | None
    axis: str | None
    rows_before: int
    rows_after: int
    runs: int
    runs_thinned: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def check_max_per_run(max_per_run: Any) -> int | None:
    """Validate the option: None (no thinning) or an integer >= 2 (first and last checkpoint)."""
    if max_per_run is None:
        return None
    if isinstance(max_per_run, bool) or not isinstance(max_per_run, int | np.integer):
        raise SettingsError("max_per_run must be an integer or null", field="max_per_run")
    if max_per_run < 2:
        raise SettingsError(
            "max_per_run must be at least 2 (a run keeps its first and last checkpoint)",
            field="max_per_run",
        )
    return int(max_per_run)


def thin_runs(data: ScalingData, max_per_run: int | None) -> tuple[ScalingData, Thinning | None]:
    """Keep at most ``max_per_run`` log-spaced rows per run; rows of no run are all kept.

    Returns the data unchanged and None when it has no runs. Within a run, rows are ordered by
    the axis; for each of ``max_per_run`` log-spaced targets between the run's first and last
    value the nearest row is kept (targets that pick the same row keep it once, so a run may keep
    fewer). Data without a training axis are not thinned (reported with ``axis`` None).
    """
    max_per_run = check_max_per_run(max_per_run)
    if data.run is None:
        return data, None
    axis = next((a for a in RUN_AXES if a in data.inputs), None)
    keep = np.ones(len(data), dtype=bool)
    thinned = 0
    if max_per_run is not None and axis is not None:
        log_x = np.log(data.inputs[axis])
        for name in data.logged_runs:
            rows = np.flatnonzero(data.run == name)
            if len(rows) <= max_per_run:
                continue
            chosen = _log_spaced(log_x[rows], max_per_run)
            keep[rows] = False
            keep[rows[chosen]] = True
            thinned += 1
    report = Thinning(
        max_per_run=max_per_run,
        axis=axis,
        rows_before=len(data),
        rows_after=int(keep.sum()),
        runs=len(data.logged_runs),
        runs_thinned=thinned,
    )
    if keep.all():
        return data, report
    # Warnings (duplicates) were raised on the data as given; the subset re-checks its own rows.
    return data.subset(keep), report


def _log_spaced(log_x: np.ndarray, k: int) -> np.ndarray:
    """Positions (into ``log_x``) of the rows nearest ``k`` evenly spaced targets in log x."""
    order = np.argsort(log_x, kind="stable")
    ordered = log_x[order]
    targets = np.linspace(ordered[0], ordered[-1], k)
    # nearest of the two neighbours of each target in the sorted values
    right = np.clip(np.searchsorted(ordered, targets), 1, len(ordered) - 1)
    left = right - 1
    nearest = np.where(targets - ordered[left] <= ordered[right] - targets, left, right)
    nearest[0], nearest[-1] = 0, len(ordered) - 1
    return np.asarray(order[np.unique(nearest)])


def run_offsets(posterior: Any, run_idx: np.ndarray | None) -> np.ndarray | float:
    """Run effect of each observation per draw, (S, obs); 0 without runs (rows of no run: 0)."""
    if run_idx is None or "run_effect" not in posterior:
        return 0.0
    effect = flat(posterior, "run_effect")
    padded = np.concatenate([effect, np.zeros((effect.shape[0], 1))], axis=1)
    return np.asarray(padded[:, run_idx])


def new_run_effect(draws: Any, seed: int) -> np.ndarray | float:
    """One fresh run effect per draw, ``sigma_run * z`` (S,); 0 for a fit without runs.

    A new run's points share its effect, so it is one draw per posterior draw, not per point.
    """
    if "sigma_run" not in draws:
        return 0.0
    scale = flat(draws, "sigma_run")
    return np.asarray(scale * np.random.default_rng(seed).standard_normal(scale.shape))
