"""A stacked (family ``auto``) fit against its members, drawn past the data.

The stacked fit's new-run median and 50/90 % bands (the mixture, with each member's
extrapolation discrepancy) and each member law's own median, labelled with its stacking weight,
along one input from the smallest observed value to ``extend`` times the largest: inside the data
the laws agree and the bands are the runs' scatter; beyond it they part and the bands widen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from plots import _common as common
from plots.errors import PlotError
from plots.fit import GRID, _rows, path, swept_inputs

if TYPE_CHECKING:
    from models import Fit

MEMBER_STYLES = ("--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)))


def members_plot(
    fit: Fit, *, input: str | None = None, group: str | None = None, extend: float = 10.0
) -> Figure:
    """Stacked median and bands, and each member law's median, to ``extend`` x the data."""
    if not fit.members or fit.weights is None:
        raise PlotError(
            "this fit has one law: members are drawn for a stacked fit of family auto with "
            "several laws kept (see its stacking report)",
            field="kind",
        )
    name = input or swept_inputs(fit)[0]
    g = group or fit.groups[0]
    color = common.group_colors(fit.groups)[g]
    rows = _rows(fit, None, g)
    along = path(fit, rows, name)
    top = float(rows[name].max()) * extend
    grid = {
        k: np.concatenate([v, _beyond(v, top if k == name else None)]) for k, v in along.items()
    }
    fig, axes = common.new_figure(1, 1)
    ax = axes[0][0]
    stacked = fit.predict(grid, group=g, probs=common.BANDS)
    common.draw_bands(ax, grid[name], stacked.median, stacked.new_run_interval, color, "stacked")
    for i, (member, weight) in enumerate(zip(fit.members, fit.weights, strict=True)):
        inputs = {n: grid[n] for n in member.family.inputs if n in grid}
        if "compute" in member.family.inputs and "compute" not in grid:
            inputs["compute"] = fit.family.compute_k * grid["params"] * grid["data"]  # type: ignore[attr-defined]
        median = member.predict(inputs, group=g, probs=(0.5,)).median
        style = MEMBER_STYLES[i % len(MEMBER_STYLES)]
        ax.plot(
            grid[name],
            median,
            ls=style,
            color="#333333",
            lw=1.2,
            label=f"{member.label} (w {weight:.2f})",
        )
    mask = np.asarray(fit.data.group == g)
    ax.scatter(fit.data.inputs[name][mask], fit.data.loss[mask], s=14, color=color, zorder=3)
    ax.axvline(float(rows[name].max()), color="#777777", lw=0.8)
    common.set_input_scale(ax, name)
    common.loss_axis(ax)
    ax.set_xlabel(common.input_label(name))
    ax.set_ylabel(common.LOSS_LABEL)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    common.note(
        fig,
        f"auto fit: {len(fit.members)} laws stacked (group {g})",
        f"dots: runs; {common.band_note()} (new-run, stacked); lines: each law's median; "
        "vertical line: the largest run",
    )
    return fig


def _beyond(values: np.ndarray, top: float | None) -> np.ndarray:
    """Grid points past the data: log-spaced to ``top`` for the swept input, else held."""
    if top is None:
        return np.full(GRID // 2, values[-1])
    return np.geomspace(values[-1], top, GRID // 2 + 1)[1:]
