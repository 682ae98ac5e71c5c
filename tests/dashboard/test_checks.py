"""The fit page's red/green diagnostics rows against the stored thresholds."""

from __future__ import annotations

from models.diagnostics import Thresholds
from service.dashboard.checks import diagnostic_checks
from tests.utils import fake_fit


def verdicts(diagnostics):
    return {c.name: c.passed for c in diagnostic_checks(diagnostics)}


def test_a_converged_fit_is_all_green_except_loo():
    diagnostics = fake_fit(seed=1).diagnostics.to_dict()
    assert diagnostics["converged"]
    got = verdicts(diagnostics)
    assert all(got[name] for name in ("R-hat (max)", "ESS bulk (min)", "Divergences", "BFMI (min)"))


def test_each_threshold_turns_its_row_red():
    """A value just past its mark fails; ESS is required per chain, as models.diagnose does."""
    th = Thresholds()
    base = fake_fit(seed=1).diagnostics.to_dict()
    chains = base["chains"]
    cases = {
        "R-hat (max)": ("r_hat_max", th.r_hat_max + 1e-3),
        "ESS bulk (min)": ("ess_bulk_min", th.ess_per_chain_min * chains - 1),
        "ESS tail (min)": ("ess_tail_min", th.ess_per_chain_min * chains - 1),
        "Divergences": ("divergences", th.divergences_max + 1),
        "BFMI (min)": ("bfmi_min", th.bfmi_min - 0.01),
        "Pareto k (max)": ("pareto_k_max", th.pareto_k_max + 0.01),
    }
    for row, (key, value) in cases.items():
        assert verdicts(base | {key: value})[row] is False, row
    assert verdicts(base | {"ess_bulk_min": th.ess_per_chain_min * chains})["ESS bulk (min)"]


def test_not_applicable_rows():
    """One chain has no R-hat, a fit without LOO no Pareto k, a non-finite stored as null."""
    base = fake_fit(seed=1, chains=1).diagnostics.to_dict() | {"pareto_k_max": None}
    got = verdicts(base)
    assert got["R-hat (max)"] is None and got["Pareto k (max)"] is None
    assert verdicts(base | {"bfmi_min": None})["BFMI (min)"] is None
