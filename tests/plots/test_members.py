"""The members plot: a stacked fit against each of its laws, past the data."""

from __future__ import annotations

import numpy as np
import pytest

import plots
from plots.errors import PlotError
from tests.plots.conftest import stacked_fit
from tests.utils import fake_fit


def test_members_are_drawn_with_their_weights_beyond_the_data():
    fit = stacked_fit()
    fig = plots.figure("members", fit, extend=100.0)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert any("(w 0.60)" in label for label in labels)
    assert any("(w 0.40)" in label for label in labels)
    drawn = max(
        float(np.max(line.get_xdata())) for line in ax.get_lines() if "(w " in line.get_label()
    )
    assert drawn == pytest.approx(100 * float(fit.data.inputs["params"].max()), rel=1e-6)


def test_a_single_law_fit_has_no_members_plot():
    with pytest.raises(PlotError):
        plots.figure("members", fake_fit())


def test_an_auto_fit_that_kept_one_law_says_so():
    fit = fake_fit()
    fit.stacking = {"candidates": [], "weights": [1.0]}  # auto ran and kept this law alone
    with pytest.raises(PlotError, match="family auto kept one law") as info:
        plots.figure("members", fit)
    assert info.value.field == "kind" and fit.family.name in str(info.value)


@pytest.mark.parametrize("kind", ["trace", "rank", "energy", "pareto_k"])
def test_chain_diagnostics_of_a_stacked_fit_are_refused_with_a_reason(kind):
    with pytest.raises(PlotError) as info:
        plots.figure(kind, stacked_fit())
    assert info.value.field == "kind" and "stacking report" in str(info.value)
