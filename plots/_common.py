"""Shared pieces of every plot: figures without pyplot, units, colours, bands, held-out points.

Figures are built with :class:`matplotlib.figure.Figure` and rendered by an explicit Agg or SVG
canvas, never through ``pyplot``: pyplot keeps global state (the current figure, a GUI backend),
which is unsafe when a server renders plots in several threads at once.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from PIL import Image

from models import ScalingData

if TYPE_CHECKING:
    from models import Fit

FORMATS = ("png", "svg")
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
# 100 dpi keeps a 3-panel PNG around 60-120 KB; readable on a README and in a dashboard
DPI = 100
BANDS = (0.5, 0.9)
PANEL_SIZE = (4.6, 3.6)

INPUT_LABELS = {
    "params": "model size N (parameters)",
    "data": "data D (tokens or samples)",
    "steps": "training steps t",
    "compute": "compute C (FLOPs)",
    "label_noise": "label noise (fraction)",
    "epochs": "epochs",
    "unique_data": "unique data U (tokens)",
}
LOSS_LABEL = "loss (loss units)"
# inputs that are fractions, not scales: linear axes
LINEAR_INPUTS = frozenset({"label_noise"})

_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)


def new_figure(rows: int, cols: int, *, width: float | None = None) -> tuple[Figure, np.ndarray]:
    """A figure with a (rows, cols) grid of axes, sized per panel, constrained layout."""
    w = width if width is not None else PANEL_SIZE[0] * cols
    fig = Figure(figsize=(w, PANEL_SIZE[1] * rows), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def to_bytes(fig: Figure, fmt: str) -> bytes:
    """Render ``fig`` as PNG or SVG bytes with its own canvas (thread-safe, no pyplot).

    PNGs are stored with a 256-colour palette: line plots use far fewer colours, and noisy
    traces and banded curves come out at a third to half of the RGBA size.
    """
    buffer = io.BytesIO()
    if fmt == "svg":
        FigureCanvasSVG(fig).print_figure(buffer, format="svg", dpi=DPI)
        return buffer.getvalue()
    canvas = FigureCanvasAgg(fig)
    raw = io.BytesIO()
    canvas.print_figure(raw, format="raw", dpi=DPI)
    rgba = Image.frombytes("RGBA", canvas.get_width_height(), raw.getvalue())
    rgba.convert("RGB").quantize(colors=256).save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def group_colors(groups: Sequence[str]) -> dict[str, str]:
    """A stable colour per group (palette order = sorted group order)."""
    return {g: _PALETTE[i % len(_PALETTE)] for i, g in enumerate(groups)}


def input_label(name: str) -> str:
    """Axis label with the input's unit."""
    return INPUT_LABELS.get(name, name)


def set_input_scale(ax: Axes, name: str, axis: str = "x") -> None:
    """Log axis for scales (where power laws are straight lines), linear for fractions.

    A log axis gets a labelled tick at every decade (matplotlib skips some over a wide range)
    and, over up to two decades, labels at 2 and 5 between them: a sweep of model sizes
    often spans only a decade or two and is otherwise read off two labels.
    """
    scale = "linear" if name in LINEAR_INPUTS else "log"
    (ax.set_xscale if axis == "x" else ax.set_yscale)(scale)
    if scale == "log":
        target = ax.xaxis if axis == "x" else ax.yaxis
        target.set_major_locator(ticker.LogLocator(base=10, numticks=30))
        target.set_minor_locator(ticker.LogLocator(base=10, subs=tuple(range(2, 10)), numticks=30))
        target.set_minor_formatter(_SparseMinorFormatter())


class _SparseMinorFormatter(ticker.LogFormatterSciNotation):
    """Minor labels at 2 and 5 over up to two decades, all of them under half a decade.

    matplotlib's own subset over two decades labelled 2, 3 and 4 of each decade, whose
    "2x10^7"-wide labels ran into each other on a panel of half a figure's width.
    """

    def __init__(self) -> None:
        # the base class labels every minor tick (thresholds never reached); __call__ thins them
        super().__init__(labelOnlyBase=False, minor_thresholds=(100, 100))

    def __call__(self, x: float, pos: int | None = None) -> str:
        if x <= 0 or self.axis is None:
            return ""
        lo, hi = self.axis.get_view_interval()
        decades = np.log10(hi / lo) if lo > 0 and hi > lo else 0.0
        lead = round(x / 10 ** np.floor(np.log10(x) + 1e-9))
        if decades > 2 or (decades > 0.5 and lead not in (2, 5)):
            return ""
        return str(super().__call__(x, pos))


class _PlainLogFormatter(ticker.Formatter):
    """Plain numbers on a log axis (3, 0.2 rather than 3x10^0); minor ticks labelled sparingly.

    Over under one decade every minor tick is labelled, up to two decades those at 2, 3 and 5,
    beyond that none: a loss axis often spans less than a decade and would otherwise be bare.
    """

    def __init__(self, minor: bool) -> None:
        self.minor = minor

    def __call__(self, x: float, pos: int | None = None) -> str:
        if x <= 0 or self.axis is None:
            return ""
        if self.minor:
            lo, hi = self.axis.get_view_interval()
            decades = np.log10(hi / lo) if lo > 0 and hi > lo else 0.0
            lead = round(x / 10 ** np.floor(np.log10(x) + 1e-9))
            if decades > 2 or (decades > 1 and lead not in (2, 3, 5)):
                return ""
        return f"{x:g}"


def loss_axis(ax: Axes) -> None:
    """Log y axis for losses (also a log colour bar's axis), with plain tick numbers."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(_PlainLogFormatter(minor=False))
    ax.yaxis.set_minor_formatter(_PlainLogFormatter(minor=True))


def quantile_bands(
    draws: np.ndarray, probs: Sequence[float] = BANDS
) -> tuple[np.ndarray, dict[float, tuple[np.ndarray, np.ndarray]]]:
    """Median and equal-tailed intervals over axis 0, ignoring non-finite draws per column."""
    values = np.where(np.isfinite(draws), draws, np.nan)
    # nanquantile warns on a column with no finite draw (a target never reached): leave it NaN
    some = np.isfinite(values).any(axis=0)
    levels = sorted({0.5, *((1 - p) / 2 for p in probs), *((1 + p) / 2 for p in probs)})
    table = np.full((len(levels), *values.shape[1:]), np.nan)
    if some.any():
        table[:, some] = np.nanquantile(values[:, some], levels, axis=0)
    at = {q: table[i] for i, q in enumerate(levels)}
    median = at[0.5]
    bands = {p: (at[(1 - p) / 2], at[(1 + p) / 2]) for p in probs}
    return median, bands


# shading of the 50 % (False) and 90 % (True) bands
BAND_ALPHA = {False: 0.45, True: 0.22}


def draw_bands(
    ax: Axes,
    x: np.ndarray,
    median: np.ndarray,
    bands: Mapping[float, tuple[np.ndarray, np.ndarray]],
    color: str,
    label: str | None,
) -> None:
    """A median line over nested shaded intervals (wider = lighter)."""
    for p in sorted(bands, reverse=True):
        lo, hi = bands[p]
        # strong enough to read at a glance over white (tests/plots/test_readability.py)
        ax.fill_between(x, lo, hi, color=color, alpha=BAND_ALPHA[p >= 0.9], lw=0)
    ax.plot(x, median, color=color, lw=1.8, label=label)


def band_note(probs: Sequence[float] = BANDS) -> str:
    """Caption fragment describing the shaded intervals."""
    return "median, " + " and ".join(f"{round(p * 100):d} %" for p in sorted(probs)) + " bands"


def held_out_rows(held_out: ScalingData | None, group: str) -> np.ndarray:
    """Boolean mask of a group's held-out rows (empty without a holdout)."""
    if held_out is None:
        return np.zeros(0, dtype=bool)
    return np.asarray(held_out.group == group)


def all_points(fit: Fit, held_out: ScalingData | None, name: str) -> np.ndarray:
    """Every observed value of input ``name``, fitted and held out."""
    values = fit.data.inputs[name]
    if held_out is not None and name in held_out.inputs:
        values = np.concatenate([values, held_out.inputs[name]])
    return values


def finite_positive(values: Any) -> np.ndarray:
    """Values as floats with everything not finite and > 0 masked as NaN (safe on log axes)."""
    out = np.asarray(values, dtype=float)
    return np.where(np.isfinite(out) & (out > 0), out, np.nan)


def note(fig: Figure, title: str, text: str) -> None:
    """The figure's title and a smaller line saying what bands and markers mean, wrapped."""
    import textwrap

    width = max(40, int(fig.get_figwidth() * 12))
    fig.suptitle(f"{title}\n{textwrap.fill(text, width)}", fontsize=9, color="#222222")
