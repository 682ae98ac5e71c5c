"""Family-specific curves: the double-descent peak and scale-time iso-loss lines.

* ``double_descent`` — loss along the swept input at the other input held fixed, with the
  posterior of the location of the curve's maximum (:func:`models.peaks.curve_peak`; not the
  bump's centre κ·D, which a falling base law moves the maximum away from) shaded: where the
  loss peaks, and how sure the fit is about it. ``double_descent`` and ``random_features`` fits.
* ``iso_loss`` — for a ``scale_time`` fit, the training time each model size needs to reach a
  loss (:func:`models.families.scale_time.iso_loss`): lines of equal loss in (size, time), with
  bands; without a capacity floor they are straight with slope ``-1/κ`` on log axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from models import curve_peak, group_draws, iso_loss
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
    quantile_bands,
)

if TYPE_CHECKING:
    from models import Fit

GRID = 120
# iso-loss root finding costs ~0.2 s per size over 400 draws; bands need far fewer draws
ISO_DRAWS = 200
ISO_SIZES = 10


def double_descent_plot(
    fit: Fit, *, group: str | None = None, at: float | None = None, label_noise: float = 0.0
) -> Figure:
    """Loss along the swept input per group, the 50/90 % posterior of its maximum shaded.

    ``at`` fixes the other input (D for a model-wise sweep, N for a sample-wise one); default the
    group's median observed value. Runs observed at that value are drawn as dots. The peak is
    searched over the group's observed range; when some draws have no peak there, the legend
    gives the share that do.
    """
    axis = fit.family.options.get("axis", "params")
    other = "data" if axis == "params" else "params"
    groups = [group] if group else fit.groups
    colors = group_colors(fit.groups)
    fig, axes = new_figure(1, 1, width=6.4)
    ax = axes[0][0]
    x = fit.data.inputs[axis]
    grid = np.geomspace(x.min() / 1.5, x.max() * 1.5, GRID)
    for g in groups:
        mask = np.asarray(fit.data.group == g)
        fixed = float(at) if at is not None else float(np.median(fit.data.inputs[other][mask]))
        points = {axis: grid, other: np.full(GRID, fixed)}
        if "label_noise" in fit.family.inputs:
            points["label_noise"] = np.full(GRID, label_noise)
        pred = fit.predict(points, group=g, probs=BANDS)
        at_g = {k: float(v[0]) for k, v in points.items() if k != axis}
        peak = curve_peak(fit, axis, at_g, group=g)
        share = "" if peak.probability >= 0.995 else f"; peak in {peak.probability:.0%} of draws"
        label = f"{g} ({other}={fixed:.3g}{share})"
        draw_bands(ax, grid, pred.median, pred.mean_interval, colors[g], label)
        near = mask & np.isclose(fit.data.inputs[other], fixed, rtol=0.05)
        ax.scatter(x[near], fit.data.loss[near], s=14, color=colors[g], zorder=3)
        located = peak.draws[np.isfinite(peak.draws)]
        if not located.size:
            continue
        median, bands = quantile_bands(located[:, None])
        for p in sorted(bands, reverse=True):
            lo, hi = bands[p]
            ax.axvspan(lo[0], hi[0], color=colors[g], alpha=0.08 if p >= 0.9 else 0.16, lw=0)
        ax.axvline(median[0], color=colors[g], ls="--", lw=1)
    ax.set_xscale("log")
    loss_axis(ax)
    ax.set_xlabel(input_label(axis))
    ax.set_ylabel(LOSS_LABEL)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    note(
        fig,
        f"{fit.family.name}: loss and interpolation peak",
        f"curve: {band_note()} (mean curve); shaded columns: 50/90 % posterior of the curve's "
        f"maximum along {axis}, dashed: its median",
    )
    return fig


def iso_loss_plot(
    fit: Fit,
    *,
    targets: Sequence[float] | None = None,
    group: str | None = None,
) -> Figure:
    """Steps each model size needs to reach each target loss: one line (with bands) per target.

    Default targets: four losses evenly spaced in log between the best observed loss and the
    median one. Observed runs are drawn as dots coloured by their loss.
    """
    loss = fit.data.loss
    chosen = list(targets) if targets else list(np.geomspace(loss.min() * 1.02, np.median(loss), 4))
    who = group if group else (fit.groups[0] if len(fit.groups) == 1 else None)
    sizes = np.geomspace(
        fit.data.inputs["params"].min(), fit.data.inputs["params"].max() * 10, ISO_SIZES
    )
    # a noise term scaling with data or label noise is drawn at their median observed values
    fixed = {
        n: float(np.median(fit.data.inputs[n]))
        for n in ("data", "label_noise")
        if n in fit.data.inputs
    }
    fig, axes = new_figure(1, 1, width=6.4)
    ax = axes[0][0]
    norm = mpl.colors.LogNorm(vmin=loss.min(), vmax=loss.max())
    colormap = mpl.colormaps["viridis"]
    draws = _thinned_draws(fit, who)
    for target in sorted(chosen):
        steps = iso_loss(
            draws,
            float(target),
            sizes,
            family=fit.family,  # type: ignore[arg-type]
            data=fixed.get("data"),
            label_noise=fixed.get("label_noise"),
        )
        median, bands = quantile_bands(finite_positive(steps))
        color = mpl.colors.to_hex(colormap(norm(target)))
        draw_bands(ax, sizes, median, bands, color, f"L = {target:.3g}")
    dots = ax.scatter(
        fit.data.inputs["params"],
        fit.data.inputs["steps"],
        c=loss,
        cmap=colormap,
        norm=norm,
        s=14,
        edgecolors="#333333",
        linewidths=0.3,
        zorder=3,
    )
    bar = fig.colorbar(dots, ax=ax, label=LOSS_LABEL)
    loss_axis(bar.ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(input_label("params"))
    ax.set_ylabel(input_label("steps"))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title="iso-loss", title_fontsize=8, loc="upper right")
    name = who if who is not None else "a new group"
    note(
        fig,
        f"{fit.family.name}: iso-loss lines ({name})",
        f"steps to first reach each loss, {band_note()}; dots: runs coloured by loss",
    )
    return fig


def _thinned_draws(fit: Fit, group: str | None) -> dict[str, np.ndarray]:
    """Natural-unit draws of one group (None: a new group), thinned to :data:`ISO_DRAWS`."""
    if group is None:
        model = group_draws(fit.draws, fit.family, fit.config.pooling, fit.groups, None)
        natural = fit.family.to_natural(model, fit.scales.inputs, fit.scales.loss)
    else:
        natural = {}
        for name in fit.family.param_names:
            values = fit.summary_draws(name)
            natural[name] = values[:, fit.groups.index(group)] if values.ndim == 2 else values
    total = len(next(iter(natural.values())))
    step = max(1, total // ISO_DRAWS)
    return {k: np.asarray(v)[::step] for k, v in natural.items()}
