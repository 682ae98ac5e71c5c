"""Sampler diagnostics: trace, rank, energy and Pareto-k plots.

These show the numbers of :class:`models.Diagnostics` as pictures: chains that disagree (trace,
rank), a poorly explored energy distribution (energy, BFMI) and observations the posterior
depends on too much (Pareto k of PSIS-LOO). Variables are in model units, as sampled (inputs over
their reference scale, loss over the best observed loss).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from models import log_likelihood_chunks, pointwise_loo, prepare
from plots._common import group_colors, new_figure, note
from plots.errors import PlotError

if TYPE_CHECKING:
    from models import Fit

CHAIN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
RANK_BINS = 20
# PSIS fits a generalized Pareto to the largest fifth of the importance ratios (below 225
# effective draws) and needs at least 5 of them
PSIS_MIN_DRAWS = 25


def default_variables(fit: Fit) -> list[str]:
    """One scalar per parameter: shared values, population means (``_mu``), and ``sigma``."""
    names = []
    for p in fit.family.params:
        how = fit.config.pooling[p.name]
        names.append(f"{p.name}_mu" if how == "partial" else p.name)
    return [*names, *(n for n in ("sigma", "nu") if n in fit.posterior)]


def _series(fit: Fit, variables: Sequence[str] | None) -> list[tuple[str, np.ndarray]]:
    """(label, draws of shape (chain, draw)) per variable; a per-group variable per group."""
    posterior = fit.posterior
    out = []
    for name in variables or default_variables(fit):
        if name not in posterior:
            known = ", ".join(str(v) for v in posterior.data_vars)
            raise PlotError(f"no variable '{name}' in the posterior (known: {known})", field="var")
        values = np.asarray(posterior[name].values)
        if values.ndim == 2:
            out.append((name, values))
        else:
            groups = [str(g) for g in posterior[name].coords["group"].values]
            out += [(f"{name}[{g}]", values[..., i]) for i, g in enumerate(groups)]
    return out


def trace_plot(fit: Fit, *, var: Sequence[str] | None = None) -> Figure:
    """Per variable: the marginal density per chain (left) and the draws per chain (right)."""
    series = _series(fit, var)
    fig, axes = new_figure(len(series), 2, width=8.0)
    fig.set_figheight(1.3 * len(series) + 0.8)
    for (label, values), (dens, trace) in zip(series, axes, strict=True):
        for c, chain in enumerate(values):
            color = CHAIN_COLORS[c % len(CHAIN_COLORS)]
            dens.hist(chain, bins=30, density=True, histtype="step", color=color, lw=1.2)
            trace.plot(chain, color=color, lw=0.6, alpha=0.8, label=f"chain {c}")
        dens.set_ylabel(label, fontsize=9)
        dens.set_yticks([])
        trace.set_xlim(0, values.shape[1] - 1)
    axes[-1][1].set_xlabel("draw (after tuning)")
    axes[-1][0].set_xlabel("value (model units; _mu on the link scale)")
    axes[0][1].legend(fontsize=7, ncols=min(4, len(axes[0][1].lines)), loc="upper right")
    note(fig, "trace", _summary_line(fit))
    return fig


def rank_plot(fit: Fit, *, var: Sequence[str] | None = None) -> Figure:
    """Histograms of each chain's ranks among all draws: flat and overlapping when mixed."""
    series = _series(fit, var)
    cols = min(3, len(series))
    rows = -(-len(series) // cols)
    fig, axes = new_figure(rows, cols, width=3.6 * cols)
    for ax, (label, values) in zip(axes.ravel(), series, strict=False):
        chains, draws = values.shape
        ranks = stats.rankdata(values.ravel()).reshape(values.shape)
        edges = np.linspace(0, chains * draws, RANK_BINS + 1)
        for c in range(chains):
            counts, _ = np.histogram(ranks[c], bins=edges)
            ax.stairs(
                counts,
                edges,
                baseline=None,
                color=CHAIN_COLORS[c % len(CHAIN_COLORS)],
                label=f"chain {c}",
            )
        ax.axhline(draws / RANK_BINS, color="#333333", ls="--", lw=0.8)
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_xlabel("rank (all chains)")
        ax.set_ylabel("draws per bin")
        ax.set_ylim(bottom=0)
    for ax in axes.ravel()[len(series) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7)
    note(
        fig,
        "rank plot",
        "dashed: the count a uniform rank distribution gives; " + _summary_line(fit),
    )
    return fig


def energy_plot(fit: Fit) -> Figure:
    """Marginal energy against energy transitions (centred); BFMI per chain in the legend."""
    energy = np.asarray(fit.trace["sample_stats"]["energy"].values, dtype=float)
    fig, axes = new_figure(1, 1, width=6.0)
    ax = axes[0][0]
    marginal = (energy - energy.mean(axis=1, keepdims=True)).ravel()
    transition = np.diff(energy, axis=1).ravel()
    bins = np.linspace(
        min(marginal.min(), transition.min()), max(marginal.max(), transition.max()), 50
    )
    ax.hist(marginal, bins=bins, density=True, alpha=0.5, color="#1f77b4", label="marginal energy")
    ax.hist(
        transition, bins=bins, density=True, alpha=0.5, color="#ff7f0e", label="energy transition"
    )
    bfmi = np.square(np.diff(energy, axis=1)).mean(axis=1) / np.var(energy, axis=1)
    text = ", ".join(f"{b:.2f}" for b in bfmi)
    ax.plot([], [], " ", label=f"BFMI per chain: {text}")
    ax.set_xlabel("energy − chain mean")
    ax.set_yticks([])
    ax.legend(fontsize=8)
    note(
        fig,
        "energy",
        f"similar widths mean NUTS explores the energy levels well; BFMI < "
        f"{fit.diagnostics.thresholds.bfmi_min} is a problem",
    )
    return fig


def pareto_k_values(fit: Fit) -> np.ndarray:
    """PSIS-LOO Pareto k per observation (NaN when LOO is undefined).

    A :class:`PlotError` naming ``draws`` when the posterior is too small for PSIS.
    """
    total = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
    if total < PSIS_MIN_DRAWS:
        raise PlotError(
            f"Pareto k needs at least {PSIS_MIN_DRAWS} posterior draws in all (chains x draws); "
            f"this fit has {total}: refit with more draws",
            field="draws",
        )
    md = prepare(fit.data, fit.family.inputs, fit.scales)
    # one block of rows at a time: a 10^5-row fit's log-likelihood is never held whole
    found = pointwise_loo(log_likelihood_chunks(fit.config, md, fit.posterior), fit.posterior)
    if found is None:  # e.g. identical importance weights (a chain repeating one draw)
        return np.full(len(md.log_loss), np.nan)
    return np.asarray(found[1], dtype=float).ravel()


def pareto_k_plot(fit: Fit) -> Figure:
    """Pareto k of each observation against its index, coloured by group, with the threshold."""
    k = pareto_k_values(fit)
    colors = group_colors(fit.groups)
    fig, axes = new_figure(1, 1, width=6.4)
    ax = axes[0][0]
    index = np.arange(len(k))
    for g in fit.groups:
        mask = np.asarray(fit.data.group == g)
        ax.scatter(index[mask], k[mask], s=16, color=colors[g], label=g)
    limit = fit.diagnostics.thresholds.pareto_k_max
    ax.axhline(limit, color="#d62728", ls="--", lw=1, label=f"k = {limit:g}")
    bad = int(np.sum(k > limit))
    ax.set_xlabel("observation (row of the fitted data)")
    ax.set_ylabel("Pareto k")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    note(
        fig,
        "PSIS-LOO Pareto k",
        f"{bad} of {len(k)} observations above {limit:g}: influential or outlying (LOO unreliable)",
    )
    return fig


def _summary_line(fit: Fit) -> str:
    d = fit.diagnostics
    state = "converged" if d.converged else "NOT converged"
    return (
        f"{state}: max R-hat {d.r_hat_max:.3f}, min ESS {min(d.ess_bulk_min, d.ess_tail_min):.0f}, "
        f"{d.divergences} divergences"
    )
