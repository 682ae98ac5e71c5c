"""Plots read at a glance: visible bands, labelled log ticks, smooth planning curves."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection

import plots
from plots.planning import N_BUDGETS


def pixel(fig, ax, x: float, y: float) -> np.ndarray:
    """The rendered RGB (0-1) at data point (x, y), averaged over a 3x3 patch."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3] / 255.0
    col, row = ax.transData.transform((x, y))
    row = image.shape[0] - row
    r, c = round(float(row)), round(float(col))
    return image[r - 1 : r + 2, c - 1 : c + 2].reshape(-1, 3).mean(axis=0)


def band_edges(poly: PolyCollection, x: float) -> tuple[float, float]:
    vertices = poly.get_paths()[0].vertices
    ys = vertices[np.isclose(vertices[:, 0], x), 1]
    return float(ys.min()), float(ys.max())


def test_the_50_and_90_percent_bands_stand_out(chinchilla):
    fig = plots.figure("fit", chinchilla, group="transformer", input="params")
    ax = fig.axes[0]
    band90, band50 = [c for c in ax.collections if isinstance(c, PolyCollection)][:2]
    xs = ax.lines[0].get_xdata()
    x = float(xs[len(xs) // 4])  # away from the runs' dots, which sit at the swept sizes' ends
    _, hi90 = band_edges(band90, x)
    _, hi50 = band_edges(band50, x)
    median = float(np.interp(x, xs, ax.lines[0].get_ydata()))
    white = np.ones(3)
    outer = pixel(fig, ax, x, np.sqrt(hi50 * hi90))  # inside the 90 % band only
    inner = pixel(fig, ax, x, median**0.3 * hi50**0.7)  # inside both
    # mean channel difference: 0.1 is what an eye picks up on a laptop screen at a glance
    assert (white - outer).mean() > 0.1, outer
    assert (outer - inner).mean() > 0.1, (outer, inner)


def test_log_axes_label_every_decade_and_minor_ticks_over_a_short_range(chinchilla):
    fig = plots.figure("fit", chinchilla, group="transformer", input="params")
    ax = fig.axes[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    lo, hi = ax.get_xlim()
    majors = [t for t in ax.xaxis.get_major_ticks() if lo <= t.get_loc() <= hi]
    decades = np.floor(np.log10(hi)) - np.ceil(np.log10(lo)) + 1
    assert len([t for t in majors if t.label1.get_text()]) == decades
    ax.set_xlim(1e8, 5e9)  # under two decades: 2 and 5 between the decades are labelled
    canvas.draw()
    minors = [t.label1.get_text() for t in ax.xaxis.get_minor_ticks() if t.label1.get_text()]
    assert minors, "no minor tick labelled over 1.7 decades"


def test_planning_curves_are_smooth_over_a_few_requested_budgets(chinchilla):
    budgets = [1e20, 1e21, 1e22]
    fig = plots.figure(
        "target_probability", chinchilla, target=2.2, group="transformer", budgets=budgets
    )
    curve, marks = fig.axes[0].lines[:2]
    x = curve.get_xdata()
    assert len(x) >= N_BUDGETS and x.min() == 1e20 and x.max() == 1e22
    assert set(budgets) <= set(x)
    assert list(marks.get_xdata()) == budgets  # the requested budgets, marked on the curve
