"""Planning plots: the compute frontier and the probability of reaching a target loss.

* ``frontier`` — :func:`models.compute_optimal` over a range of budgets: L*(C), N*(C) and D*(C),
  each draw at its own optimum, medians with 50/90 % bands, one line per group; the observed runs
  on the loss panel at their compute ``k N D``.
* ``target_probability`` — ``P(L < target)`` of a new run at the plan's expected-loss-optimal
  allocation for each budget (:func:`models.probability_below`), one line per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

import models
from plots._common import (
    BANDS,
    LOSS_LABEL,
    band_note,
    draw_bands,
    finite_positive,
    group_colors,
    input_label,
    loss_axis,
    new_figure,
    note,
)

if TYPE_CHECKING:
    from models import Fit

N_BUDGETS = 24


def default_budgets(fit: Fit, k: float) -> np.ndarray:
    """From the smallest observed run's compute to 1000 x the largest, log-spaced."""
    compute = k * fit.data.inputs["params"] * fit.data.inputs["data"]
    return np.geomspace(compute.min(), compute.max() * 1e3, N_BUDGETS)


def curve_budgets(fit: Fit, budgets: Sequence[float] | None, k: float) -> np.ndarray:
    """Where the curves are evaluated: a fine log grid over the budgets asked for, and them.

    A few requested budgets alone draw a kinked polyline; the grid spans them (the default
    range when fewer than two differ) and they stay on it exactly.
    """
    asked = np.unique(np.asarray(budgets or [], dtype=float))
    if asked.size >= 2:
        grid = np.geomspace(asked[0], asked[-1], N_BUDGETS)
    else:
        grid = default_budgets(fit, k)
    return np.unique(np.concatenate([grid, asked]))


def _plans(
    fit: Fit, budgets: Sequence[float] | None, group: str | None, k: float
) -> tuple[np.ndarray, list[tuple[str, models.ComputePlan]]]:
    """One compute-optimal plan per group to draw (the requested one, else every group)."""
    chosen = curve_budgets(fit, budgets, k)
    groups = [group] if group else fit.groups
    values = [float(c) for c in chosen]
    plans = [(g, models.compute_optimal(fit, values, group=g, k=k, probs=BANDS)) for g in groups]
    return chosen, plans


def frontier_plot(
    fit: Fit,
    *,
    budgets: Sequence[float] | None = None,
    group: str | None = None,
    k: float = 6.0,
) -> Figure:
    """Three panels: L*(C), N*(C), D*(C) with bands per group; runs on the loss panel."""
    chosen, plans = _plans(fit, budgets, group, k)
    colors = group_colors(fit.groups)
    fig, axes = new_figure(1, 3)
    panels = (
        ("loss", LOSS_LABEL),
        ("params", "N* " + input_label("params")),
        ("data", "D* " + input_label("data")),
    )
    for ax, (field, label) in zip(axes[0], panels, strict=True):
        for g, plan in plans:
            color = colors.get(g, "#000000")
            dists = [getattr(b, field) for b in plan.budgets]
            median = finite_positive([d.median for d in dists])
            bands = {
                p: (
                    finite_positive([d.intervals[p][0] for d in dists]),
                    finite_positive([d.intervals[p][1] for d in dists]),
                )
                for p in BANDS
            }
            who = g if not plan.population else f"{g} (new group)"
            draw_bands(ax, chosen, median, bands, color, who)
        ax.set_xscale("log")
        if field == "loss":
            loss_axis(ax)
        else:
            ax.set_yscale("log")
        ax.set_xlabel(f"compute C = {k:g}·N·D (FLOPs)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    runs_c = k * fit.data.inputs["params"] * fit.data.inputs["data"]
    for g in [g for g, _ in plans]:
        mask = np.asarray(fit.data.group == g)
        axes[0][0].scatter(runs_c[mask], fit.data.loss[mask], s=12, color=colors.get(g), zorder=3)
    axes[0][0].legend(fontsize=8)
    note(
        fig,
        f"{fit.family.name}: compute-optimal frontier",
        f"each draw at its own optimum; {band_note()}; dots: runs at their compute",
    )
    return fig


def target_probability_plot(
    fit: Fit,
    *,
    target: float | None = None,
    budgets: Sequence[float] | None = None,
    group: str | None = None,
    k: float = 6.0,
) -> Figure:
    """P(new run's loss < target) against compute, at the expected-loss-optimal (N, D).

    Default target: the best observed loss (how much compute makes beating it likely).
    """
    level = float(target) if target is not None else float(fit.data.loss.min())
    chosen, plans = _plans(fit, budgets, group, k)
    colors = group_colors(fit.groups)
    fig, axes = new_figure(1, 1, width=6.4)
    ax = axes[0][0]
    for g, plan in plans:
        points = {
            "params": [b.expected_optimal.params for b in plan.budgets],
            "data": [b.expected_optimal.data for b in plan.budgets],
        }
        answer = models.probability_below(fit, points, level, group=g)
        ax.plot(
            chosen,
            answer.probability,
            color=colors.get(g, "#000000"),
            lw=1.8,
            label=g if not plan.population else f"{g} (new group)",
        )
        if budgets:  # the budgets asked for, on the curve
            asked = np.isin(chosen, np.asarray(budgets, dtype=float))
            reached = np.asarray(answer.probability)[asked]
            ax.plot(chosen[asked], reached, "o", ms=4, color=colors.get(g))
    for q in (0.5, 0.9):
        ax.axhline(q, color="#777777", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"compute C = {k:g}·N·D (FLOPs)")
    ax.set_ylabel(f"P(loss < {level:.4g})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    note(
        fig,
        f"{fit.family.name}: probability of reaching loss {level:.4g}",
        "a new run at the plan's allocation (N minimising the expected loss); dotted: 0.5, 0.9",
    )
    return fig
