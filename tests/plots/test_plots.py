"""Every plot kind renders PNG and SVG with the right panels and lines; bad requests are refused."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from matplotlib.collections import PathCollection

import models
import plots
from models.data import Scales
from plots.diagnostics import default_variables, pareto_k_values
from plots.fit import exponent_names
from tests.plots.conftest import GROUPS, fit_for
from tests.tiers import thorough
from tests.utils import fake_fit

# every kind (both formats in CI's run), each over 5 KB: an empty or broken figure is far smaller
MIN_BYTES = 5_000


def visible_axes(fig):
    """Panels that draw something (colorbars and hidden grid cells excluded)."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def legend_labels(ax):
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


@pytest.mark.parametrize("kind", sorted(plots.KINDS))
@pytest.mark.parametrize("fmt", plots.FORMATS if thorough() else ("png",))
def test_every_kind_renders(kind, fmt, fits):
    """The bytes are a real PNG/SVG of non-trivial size (SVG of every kind in CI's run only)."""
    data = plots.render(kind, fit_for(kind, fits), fmt=fmt)
    assert len(data) > MIN_BYTES
    if fmt == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert data.lstrip().startswith(b"<?xml") and b"<svg" in data[:2000]


def test_fit_has_a_panel_per_input_and_a_line_per_group(chinchilla, held_out):
    fig = plots.figure("fit", chinchilla, held_out=held_out)
    axes = visible_axes(fig)
    assert [ax.get_xlabel().split()[0] for ax in axes] == ["model", "data"]
    for ax in axes:
        assert len(ax.get_lines()) == len(GROUPS)
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "loss" in ax.get_ylabel()
    assert legend_labels(axes[0]) == [*sorted(GROUPS), "held out"]
    # per group: fitted dots and held-out diamonds, on each panel
    offsets = [c.get_offsets() for c in axes[0].collections if isinstance(c, PathCollection)]
    assert len(offsets) == 2 * len(GROUPS)
    assert sum(len(o) for o in offsets) == len(chinchilla.data) + len(held_out)


def test_fit_without_holdout_marks_nothing(chinchilla):
    fig = plots.figure("fit", chinchilla, input="params", group="rwkv")
    (ax,) = visible_axes(fig)
    assert legend_labels(ax) == ["rwkv"]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(dots) == 1 and len(dots[0].get_offsets()) == np.sum(chinchilla.data.group == "rwkv")


def test_residuals_are_centred_for_the_true_law(chinchilla):
    """Residuals of a fit of the simulating law scatter around 0 within the noise."""
    fig = plots.figure("residuals", chinchilla)
    ax = visible_axes(fig)[0]
    values = np.concatenate(
        [c.get_offsets()[:, 1] for c in ax.collections if isinstance(c, PathCollection)]
    )
    assert len(values) == len(chinchilla.data)
    assert abs(np.mean(values)) < 0.01 and np.std(values) < 0.04


def test_exponents_rows_are_groups_and_the_population(chinchilla):
    fig = plots.figure("exponents", chinchilla)
    axes = visible_axes(fig)
    assert len(axes) == len(exponent_names(chinchilla)) == 2
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels == [*sorted(GROUPS), "population (new group)"]


def test_prior_posterior_has_a_panel_per_parameter_and_noise(chinchilla):
    fig = plots.figure("prior_posterior", chinchilla)
    titles = [ax.get_title() for ax in visible_axes(fig)]
    assert titles == [*chinchilla.family.param_names, "sigma"]


def test_prior_posterior_draws_what_float64_holds_when_natural_units_overflow(chinchilla):
    """Data near 1e300: every amplitude overflows to inf in natural units (was an IndexError)."""
    huge = dataclasses.replace(chinchilla, scales=Scales({"params": 1e290, "data": 1e290}, 1e290))
    with np.errstate(over="ignore"):
        fig = plots.figure("prior_posterior", huge)
        assert len(plots.render("prior_posterior", huge)) > MIN_BYTES
    panels = {ax.get_title(): ax for ax in visible_axes(fig)}
    overflowed = [t.get_text() for t in panels["A"].texts]  # prior draws with a small alpha fit
    assert overflowed == ["posterior: no draw below 1e300 in natural units"]
    assert len(panels["A"].patches) == 1
    assert len(panels["E"].patches) == 2 and not panels["E"].texts  # 1.8e290 still fits


def test_pareto_k_on_too_few_draws_names_the_draws():
    """10 draws on one chain (the API's minimum) leave PSIS 2 tail draws of the 5 it needs."""
    small = fake_fit(chains=1, draws=10)
    with pytest.raises(plots.PlotError) as err:
        plots.render("pareto_k", small)
    assert err.value.field == "draws" and "has 10" in str(err.value)
    assert len(pareto_k_values(fake_fit(chains=1, draws=25))) == len(small.data)


def test_frontier_panels_and_group_lines(chinchilla):
    fig = plots.figure("frontier", chinchilla, budgets=[1e19, 1e20, 1e21])
    axes = visible_axes(fig)
    assert len(axes) == 3
    for ax in axes:
        assert len(ax.get_lines()) == len(GROUPS)
        assert ax.get_xscale() == "log" and "FLOPs" in ax.get_xlabel()
    n_star = axes[1].get_lines()[0].get_ydata()
    assert np.all(np.diff(n_star) > 0)  # more compute, a larger optimal model


def test_target_probability_rises_with_compute(chinchilla):
    fig = plots.figure("target_probability", chinchilla, target=2.2, group="transformer")
    (ax,) = visible_axes(fig)
    curve = ax.get_lines()[0].get_ydata()
    assert legend_labels(ax) == ["transformer"]
    assert np.all((curve >= 0) & (curve <= 1)) and curve[-1] > curve[0]


def test_double_descent_shades_the_curves_maximum(double_descent):
    fig = plots.figure("double_descent", double_descent)
    (ax,) = visible_axes(fig)
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1
    expected = models.curve_peak(double_descent, "params", {"data": 100.0}).median
    assert dashed[0].get_xdata()[0] == pytest.approx(expected, rel=0.02)


def test_iso_loss_has_a_line_per_target(scale_time):
    fig = plots.figure("iso_loss", scale_time, targets="1.5,2.0")
    ax = next(ax for ax in visible_axes(fig) if ax.get_legend() is not None)
    assert legend_labels(ax) == ["L = 1.5", "L = 2"]
    assert ax.get_ylabel().startswith("training steps")


def test_trace_and_rank_have_a_row_per_variable(chinchilla):
    names = default_variables(chinchilla)
    assert names == ["E_mu", "A_mu", "B_mu", "alpha_mu", "beta_mu", "sigma"]
    trace = plots.figure("trace", chinchilla)
    assert len(visible_axes(trace)) == 2 * len(names)
    rank = plots.figure("rank", chinchilla, var=["alpha"])
    assert [ax.get_title() for ax in visible_axes(rank)] == [f"alpha[{g}]" for g in sorted(GROUPS)]


def test_energy_and_pareto_k(chinchilla):
    (ax,) = visible_axes(plots.figure("energy", chinchilla))
    assert legend_labels(ax)[-1].startswith("BFMI per chain")
    k = pareto_k_values(chinchilla)
    assert k.shape == (len(chinchilla.data),) and np.all(np.isfinite(k))
    (ax,) = visible_axes(plots.figure("pareto_k", chinchilla))
    assert legend_labels(ax)[: len(GROUPS)] == sorted(GROUPS)


@pytest.mark.parametrize(
    ("kind", "family"),
    [("iso_loss", "chinchilla"), ("double_descent", "chinchilla"), ("frontier", "scale_time")],
)
def test_a_kind_of_another_family_is_refused(kind, family, fits):
    with pytest.raises(plots.PlotError) as err:
        plots.render(kind, fits[family])
    assert err.value.field == "kind"
    assert kind in str(err.value) and family in str(err.value)


@pytest.mark.parametrize(
    ("kind", "options", "field"),
    [
        ("nope", {}, "kind"),
        ("fit", {"target": 2.0}, "target"),
        ("fit", {"group": "gpt"}, "group"),
        ("fit", {"input": "steps"}, "input"),
        ("fit", {"interval": "wide"}, "interval"),
        ("frontier", {"budgets": "1e20,x"}, "budgets"),
        ("target_probability", {"target": -1}, "target"),
        ("trace", {"var": ["nope"]}, "var"),
    ],
)
def test_bad_requests_name_the_field(kind, options, field, chinchilla):
    with pytest.raises(plots.PlotError) as err:
        plots.render(kind, chinchilla, **options)
    assert err.value.field == field


def test_unknown_format_is_refused(chinchilla):
    with pytest.raises(plots.PlotError) as err:
        plots.render("energy", chinchilla, fmt="jpg")
    assert err.value.field == "fmt"


def test_rendering_in_threads_gives_the_same_bytes(chinchilla):
    """No pyplot state: concurrent renders (a server's threads) equal serial ones."""
    kinds = ["energy", "exponents", "pareto_k", "energy"]
    serial = [plots.render(k, chinchilla) for k in kinds]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda k: plots.render(k, chinchilla), kinds))
    assert parallel == serial


def test_every_kind_declares_the_families_it_draws():
    for spec in plots.KINDS.values():
        known = {*__import__("models").REGISTRY, __import__("models").AUTO}
        assert spec.families is None or spec.families <= known


def test_kinds_that_do_not_mark_held_out_runs_ignore_them(chinchilla, held_out):
    """A caller may pass a backtest's held-out runs to every kind (the service does)."""
    fig = plots.figure("exponents", chinchilla, held_out=held_out)
    assert len(visible_axes(fig)) == 2


def test_random_features_peak_is_shaded_where_its_curve_peaks():
    from tests.models.families.test_random_features import TRUTH

    n = np.geomspace(10, 1000, 30)
    fit = fake_fit("random_features", TRUTH, inputs={"params": n, "data": np.full(30, 100.0)})
    (ax,) = visible_axes(plots.figure("double_descent", fit))
    (dashed,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    expected = models.curve_peak(fit, "params", {"data": 100.0}).median
    assert expected is not None and dashed.get_xdata()[0] == pytest.approx(expected, rel=0.02)
