"""How well the law fits: data and posterior curves, residuals, exponents, prior vs posterior.

Curves are the fit's own predictions (:meth:`models.Fit.predict`), so what is drawn is exactly
what the API and the CLI answer. Along one input, the family's other inputs follow each group's
observed log-linear trend with it (a sweep's own path, e.g. D growing with N in a Chinchilla
sweep; their geometric mean when unrelated), so the curve passes through the data's region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

from models import ScalingData, group_draws
from plots._common import (
    BANDS,
    LINEAR_INPUTS,
    LOSS_LABEL,
    all_points,
    band_note,
    draw_bands,
    group_colors,
    held_out_rows,
    input_label,
    loss_axis,
    new_figure,
    note,
    set_input_scale,
)

if TYPE_CHECKING:
    from models import Fit

GRID = 60
# beyond it matplotlib's axis margins and tick labels overflow float64
_LARGEST = 1e300


def swept_inputs(fit: Fit, held_out: ScalingData | None = None) -> list[str]:
    """Inputs that vary in the data (a constant column is no axis to plot against)."""
    names = []
    for name in fit.family.inputs:
        values = all_points(fit, held_out, name)
        if np.ptp(values) > 0:
            names.append(name)
    return names or [fit.family.inputs[0]]


def _rows(fit: Fit, held_out: ScalingData | None, group: str) -> dict[str, np.ndarray]:
    """The group's fitted and held-out inputs, stacked."""
    mask = np.asarray(fit.data.group == group)
    extra = held_out_rows(held_out, group)
    out = {}
    for name in fit.family.inputs:
        values = fit.data.inputs[name][mask]
        if held_out is not None and extra.any():
            values = np.concatenate([values, held_out.inputs[name][extra]])
        out[name] = values
    return out


def _transform(name: str, values: np.ndarray) -> np.ndarray:
    return values if name in LINEAR_INPUTS else np.log(values)


def path(fit: Fit, rows: Mapping[str, np.ndarray], along: str) -> dict[str, np.ndarray]:
    """A grid over ``along`` with the other inputs on the rows' trend (least squares)."""
    x = rows[along]
    lo, hi = float(x.min()), float(x.max())
    grid = np.linspace(lo, hi, GRID) if along in LINEAR_INPUTS else np.geomspace(lo, hi, GRID)
    tx, tg = _transform(along, x), _transform(along, grid)
    out = {along: grid}
    for name in fit.family.inputs:
        if name == along:
            continue
        ty = _transform(name, rows[name])
        if np.ptp(tx) > 0 and np.ptp(ty) > 0:
            slope, icept = np.polyfit(tx, ty, 1)
            fitted = icept + slope * tg
        else:
            fitted = np.full(GRID, ty.mean())
        out[name] = np.clip(fitted, 0, None) if name in LINEAR_INPUTS else np.exp(fitted)
    return out


def fit_plot(
    fit: Fit,
    *,
    held_out: ScalingData | None = None,
    input: str | None = None,
    group: str | None = None,
    interval: str = "new_run",
) -> Figure:
    """Observations and posterior median with 50/90 % bands per group, one panel per input."""
    names = [input] if input else swept_inputs(fit, held_out)
    groups = [group] if group else fit.groups
    colors = group_colors(fit.groups)
    fig, axes = new_figure(1, len(names))
    for ax, name in zip(axes[0], names, strict=True):
        for g in groups:
            rows = _rows(fit, held_out, g)
            grid = path(fit, rows, name)
            pred = fit.predict(grid, group=g, probs=BANDS)
            bands = pred.new_run_interval if interval == "new_run" else pred.mean_interval
            draw_bands(ax, grid[name], pred.median, bands, colors[g], g)
            mask = np.asarray(fit.data.group == g)
            ax.scatter(
                fit.data.inputs[name][mask], fit.data.loss[mask], s=14, color=colors[g], zorder=3
            )
            extra = held_out_rows(held_out, g)
            if held_out is not None and extra.any():
                ax.scatter(
                    held_out.inputs[name][extra],
                    held_out.loss[extra],
                    s=40,
                    marker="D",
                    facecolors="none",
                    edgecolors=colors[g],
                    linewidths=1.4,
                    zorder=4,
                )
        set_input_scale(ax, name)
        loss_axis(ax)
        ax.set_xlabel(input_label(name))
        ax.set_ylabel(LOSS_LABEL)
        ax.grid(True, which="major", alpha=0.3)
    _legend(axes[0][0], held_out is not None and len(held_out) > 0)
    kind = "new-run" if interval == "new_run" else "mean-curve"
    held = "; open diamonds: held-out runs (not fitted)" if held_out is not None else ""
    note(fig, f"{fit.family.name} fit", f"dots: runs; {band_note()} ({kind}){held}")
    return fig


def _legend(ax: object, with_held_out: bool) -> None:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

    assert isinstance(ax, Axes)
    handles, labels = ax.get_legend_handles_labels()
    if with_held_out:
        handles.append(
            Line2D([], [], marker="D", ls="", mfc="none", mec="#333333", label="held out")
        )
        labels.append("held out")
    ax.legend(handles, labels, fontsize=8, loc="best")


def residuals_plot(
    fit: Fit, *, held_out: ScalingData | None = None, group: str | None = None
) -> Figure:
    """Log residuals log(y) - log(median) against each input, with the fitted noise's ±2σ."""
    names = swept_inputs(fit, held_out)
    groups = [group] if group else fit.groups
    colors = group_colors(fit.groups)
    sigma = float(np.median(fit.draws["sigma"]))
    fig, axes = new_figure(1, len(names))
    for g in groups:
        for part, marker, label in ((fit.data, "o", g), (held_out, "D", None)):
            if part is None:
                continue
            mask = np.asarray(part.group == g)
            if not mask.any():
                continue
            points = {n: part.inputs[n][mask] for n in fit.family.inputs}
            pred = fit.predict(points, group=g, probs=(0.5,))
            resid = np.log(part.loss[mask]) - np.log(pred.median)
            for ax, name in zip(axes[0], names, strict=True):
                filled = marker == "o"
                ax.scatter(
                    points[name],
                    resid,
                    s=16 if filled else 36,
                    marker=marker,
                    color=colors[g] if filled else "none",
                    edgecolors=colors[g],
                    label=label,
                    zorder=3,
                )
    for ax, name in zip(axes[0], names, strict=True):
        ax.axhspan(-2 * sigma, 2 * sigma, color="#999999", alpha=0.15, lw=0, label="±2σ noise")
        ax.axhline(0, color="#333333", lw=0.8)
        set_input_scale(ax, name)
        ax.set_xlabel(input_label(name))
        ax.set_ylabel("residual log(loss / median)")
        ax.grid(True, alpha=0.3)
    _legend(axes[0][0], held_out is not None and len(held_out) > 0)
    held = "; open diamonds: held-out runs" if held_out is not None else ""
    note(fig, f"{fit.family.name} residuals", f"shaded: ±2σ of the fitted noise{held}")
    return fig


def exponent_names(fit: Fit) -> list[str]:
    """Dimensionless parameters the family documents as exponents."""
    return [
        p.name
        for p in fit.family.params
        if p.unit.kind == "dimensionless" and "exponent" in p.description
    ]


def exponents_plot(fit: Fit) -> Figure:
    """Posterior of each exponent per group, with a new group from the population (forest plot)."""
    names = exponent_names(fit)
    fig, axes = new_figure(1, len(names), width=max(4.0 * len(names), 5.0))
    colors = group_colors(fit.groups)
    population = _natural_new_group(fit) if len(fit.groups) > 1 else None
    for ax, name in zip(axes[0], names, strict=True):
        draws = fit.summary_draws(name)
        rows: list[tuple[str, np.ndarray, str]] = []
        if draws.ndim == 2:
            rows += [(g, draws[:, i], colors[g]) for i, g in enumerate(fit.groups)]
        else:
            label = "shared" if len(fit.groups) > 1 else fit.groups[0]
            rows.append((label, draws, "#333333"))
        if population is not None and fit.config.pooling[name] == "partial":
            rows.append(("population (new group)", population[name], "#000000"))
        for y, (label, values, color) in enumerate(rows):
            lo90, lo50, med, hi50, hi90 = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
            ax.plot([lo90, hi90], [y, y], color=color, lw=1.2)
            ax.plot([lo50, hi50], [y, y], color=color, lw=4, solid_capstyle="butt")
            marker = "D" if label.startswith("population") else "o"
            ax.plot([med], [y], marker=marker, color="white", mec=color, ms=7, mew=1.5)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.invert_yaxis()
        ax.set_xlabel(f"{name} (dimensionless)")
        ax.grid(True, axis="x", alpha=0.3)
    note(
        fig,
        f"{fit.family.name} exponents",
        "median (marker), 50 % (thick) and 90 % (thin) intervals; diamond: a new architecture",
    )
    return fig


def _natural_new_group(fit: Fit) -> dict[str, np.ndarray]:
    """Natural-unit draws for a group the fit has not seen (partially pooled from the population).

    Parameters fitted ``independent`` have no population; they are left out of the new group.
    """
    pooling = dict(fit.config.pooling)
    if any(how == "independent" for how in pooling.values()):
        return {}
    model = group_draws(fit.draws, fit.family, pooling, fit.groups, None, seed=0)
    return fit.family.to_natural(model, fit.scales.inputs, fit.scales.loss)


def prior_posterior_plot(fit: Fit, *, draws: int = 4000, seed: int = 0) -> Figure:
    """Prior and posterior of every parameter (natural units) for one group or a new one.

    With one group it is that group; with several, a new group drawn from the population on both
    sides (the prior's population prior against the fitted population), so the panels compare
    like with like. A posterior as wide as its prior means the data did not inform it.
    """
    prior = _prior_natural(fit, draws, seed)
    if len(fit.groups) == 1:
        post_model = group_draws(fit.draws, fit.family, fit.config.pooling, fit.groups, None)
        posterior = fit.family.to_natural(post_model, fit.scales.inputs, fit.scales.loss)
        who = fit.groups[0]
    else:
        posterior = _natural_new_group(fit)
        who = "a new group"
    names = [n for n in fit.family.param_names if n in posterior]
    names.append("sigma")
    prior["sigma"] = fit.config.noise["sigma"].draw(np.random.default_rng(seed + 1), draws)
    posterior["sigma"] = fit.draws["sigma"]
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = new_figure(rows, cols, width=3.4 * cols)
    for ax, name in zip(axes.ravel(), names, strict=False):
        link = "identity" if name == "sigma" else fit.family.param(name).link
        _hist_pair(ax, np.asarray(prior[name]), np.asarray(posterior[name]), log=link == "log")
        ax.set_title(name, fontsize=9)
        ax.set_yticks([])
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8)
    note(
        fig,
        f"{fit.family.name} prior vs posterior ({who})",
        "natural units (sigma: noise sd of log loss); log x axis for positive parameters",
    )
    return fig


def _prior_natural(fit: Fit, n: int, seed: int) -> dict[str, np.ndarray]:
    """Draws from the fit's priors for one group (or a new one), converted to natural units."""
    rng = np.random.default_rng(seed)
    model: dict[str, np.ndarray] = {}
    for spec in fit.family.params:
        how = fit.config.pooling[spec.name]
        if how == "partial":
            hyper = fit.config.hyper[spec.name]
            mu, scale = hyper.mu.draw(rng, n), hyper.sigma.draw(rng, n)
            model[spec.name] = spec.inverse_link(np, mu + scale * rng.standard_normal(n))
        else:
            model[spec.name] = fit.config.priors[spec.name].draw(rng, n)
    return fit.family.to_natural(model, fit.scales.inputs, fit.scales.loss)


def _hist_pair(ax: object, prior: np.ndarray, posterior: np.ndarray, *, log: bool) -> None:
    """Prior and posterior histograms over the values float64 can hold.

    Natural units can overflow (a loss near 1e300 times an amplitude): draws beyond
    :data:`_LARGEST` are left out, and a side with none left is named on the panel instead.
    """
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)

    def drawable(values: np.ndarray) -> np.ndarray:
        return (np.abs(values) < _LARGEST) & ((values > 0) if log else True)

    sides = {"prior": prior[drawable(prior)], "posterior": posterior[drawable(posterior)]}

    missing = [name for name, values in sides.items() if not values.size]
    if missing:
        ax.text(
            0.5,
            0.5,
            f"{' and '.join(missing)}: no draw below 1e300 in natural units",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=7,
            wrap=True,
        )
    if len(missing) == 2:
        return
    both = np.concatenate(list(sides.values()))
    # the prior's tails span decades: bin over its central 99 % and the whole posterior
    # ("inverted_cdf" picks draws: interpolating between values near 1e308 overflows)
    lo, hi = float(both.min()), float(both.max())
    if sides["prior"].size:
        lo, hi = np.quantile(sides["prior"], [0.005, 0.995], method="inverted_cdf")
    if sides["posterior"].size:
        lo = min(lo, float(sides["posterior"].min()))
        hi = max(hi, float(sides["posterior"].max()))
    if not hi > lo:  # one value: a narrow bin around it
        pad = max(abs(lo) * 1e-3, 1e-12)
        lo, hi = lo - pad, hi + pad
    if log:
        bins = list(np.geomspace(max(lo, float(both.min()) * 0.999), hi, 60))
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())  # decades only: no overlaps
    else:
        bins = list(2 * np.linspace(lo / 2, hi / 2, 60))  # halved: hi - lo may exceed float64
    # share of draws per bin (not a density): with log-spaced bins a density would shrink every
    # bin at large values and hide a posterior sitting there
    for values, label, style in (
        (prior, "prior", {"color": "#bbbbbb"}),
        (posterior, "posterior", {"alpha": 0.7}),
    ):
        if label in missing:
            continue
        weights = np.full(len(values), 1.0 / max(len(values), 1))
        kept = drawable(values)  # a share of all draws: the overflowed ones stay counted
        ax.hist(
            values[kept], bins=bins, weights=weights[kept], histtype="stepfilled", label=label,
            **style,
        )  # fmt: skip
