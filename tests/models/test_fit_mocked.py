"""fit() end to end with the sampler replaced by prior draws (no NUTS)."""

import numpy as np
import pytest

import models
from models import DataError, ScalingData, fitting
from tests.utils import CHINCHILLA_TRUTH, chinchilla_inputs, prior_trace, replace_sampler, tiny_data


@pytest.fixture
def mock_sampler(monkeypatch):
    calls = []

    def fake(config, md, settings, *, progress=None, cache=None, time_limit_s=None):
        calls.append((config, md, settings))
        if progress:
            progress(1.0)
        return prior_trace(
            config, md, chains=settings.chains, draws=settings.draws, seed=settings.seed
        )

    replace_sampler(monkeypatch, fake)
    return calls


def grouped_data(n_groups=3, n=12):
    from models.simulate import simulate

    return simulate(
        models.get_family("chinchilla"),
        CHINCHILLA_TRUTH,
        chinchilla_inputs(n),
        groups=[f"g{i}" for i in range(n_groups)],
    )


def test_fit_returns_everything_a_user_needs(mock_sampler):
    data = tiny_data(30)
    # prior draws at 2 x 60 miss the ESS mark: no longer run here (tests/models/test_extension.py)
    settings = models.SamplerSettings(draws=60, chains=2, max_draws=None)
    fit = models.fit(data, "chinchilla", settings=settings)
    assert fit.groups == ["all"] and fit.config.pooling == dict.fromkeys(
        fit.family.param_names, "shared"
    )
    assert fit.diagnostics.chains == 2 and fit.diagnostics.draws == 60
    assert set(fit.summary()["parameter"]) >= {"E", "A", "B", "alpha", "beta", "a", "b", "sigma"}
    _, md, _ = mock_sampler[0]
    # model units: inputs divided by their geometric mean, loss by the smallest loss
    assert np.exp(np.log(md.x["params"]).mean()) == pytest.approx(1.0)
    assert md.log_loss.min() == pytest.approx(0.0)


def test_loo_can_be_skipped_without_changing_a_draw(mock_sampler):
    settings = models.SamplerSettings(draws=60, chains=2, max_draws=None)
    with_loo = fitting.fit(tiny_data(30), "chinchilla", settings=settings)
    without = fitting.fit(tiny_data(30), "chinchilla", settings=settings, loo=False)
    assert with_loo.diagnostics.elpd_loo is not None and with_loo.diagnostics.p_loo is not None
    assert without.diagnostics.elpd_loo is None and without.diagnostics.pareto_k_max is None
    assert without.diagnostics.r_hat_max == with_loo.diagnostics.r_hat_max
    np.testing.assert_array_equal(without.draws["alpha"], with_loo.draws["alpha"])


def test_prior_draws_are_flagged_as_prior_dominated(mock_sampler):
    """When the 'posterior' equals the prior, the warning must say the data did not inform it."""
    fit = models.fit(
        tiny_data(30), "chinchilla", settings=models.SamplerSettings(draws=200, chains=2)
    )
    codes = {(w.code, w.param) for w in fit.diagnostics.warnings}
    assert ("prior_dominates", "alpha") in codes and ("prior_dominates", "E") in codes


def test_hierarchical_defaults_and_progress(mock_sampler):
    seen = []
    fit = models.fit(
        grouped_data(),
        "chinchilla",
        progress=seen.append,
        settings=models.SamplerSettings(draws=50, chains=2, max_draws=None),
    )
    assert seen == [1.0]
    assert set(fit.config.pooling.values()) == {"partial"}
    kinds = set(fit.summary()["kind"])
    assert kinds == {"parameter", "derived", "population", "noise"}


def test_single_group_pooling_request_becomes_a_warning(mock_sampler):
    fit = models.fit(
        tiny_data(30),
        "chinchilla",
        pooling="partial",
        settings=models.SamplerSettings(draws=50, chains=2),
    )
    notes = [w.message for w in fit.diagnostics.warnings if w.code == "pooling"]
    assert notes and "fitted as shared" in notes[0]


def test_too_few_points_is_refused(mock_sampler):
    with pytest.raises(DataError, match="5 observations cannot fit 5 parameters") as exc:
        models.fit(tiny_data(5), "chinchilla")
    assert exc.value.field == "loss" and not mock_sampler


def test_thin_data_warns(mock_sampler):
    fit = models.fit(
        tiny_data(12), "chinchilla", settings=models.SamplerSettings(draws=50, chains=2)
    )
    assert "too_few_points" in {w.code for w in fit.diagnostics.warnings}


def test_missing_input_names_it(mock_sampler):
    data = ScalingData({"params": np.geomspace(1e7, 1e9, 10)}, np.linspace(3, 2, 10))
    with pytest.raises(DataError, match="needs input") as exc:
        models.fit(data, "chinchilla")
    assert exc.value.field == "data"


def test_family_options_and_power_law_over_data(mock_sampler):
    data = ScalingData(
        {"data": np.geomspace(1e8, 1e11, 20)}, 2 + 30 * np.geomspace(1e8, 1e11, 20) ** -0.2
    )
    fit = models.fit(
        data,
        "power_law",
        family_options={"x": "data"},
        settings=models.SamplerSettings(draws=50, chains=2),
    )
    assert fit.family.inputs == ("data",)
    assert fit.predict({"data": [1e12]}).median.shape == (1,)


def test_duplicate_rows_are_reported(mock_sampler):
    base = tiny_data(20)
    data = ScalingData(
        {k: np.r_[v, v[:2]] for k, v in base.inputs.items()}, np.r_[base.loss, base.loss[:2]]
    )
    fit = models.fit(data, "chinchilla", settings=models.SamplerSettings(draws=50, chains=2))
    assert any(
        w.code == "duplicate_rows" and "2 duplicate rows" in w.message
        for w in fit.diagnostics.warnings
    )


def _stats(divergent: int) -> dict:
    import xarray as xr

    diverging = np.zeros((2, 50), dtype=bool)
    diverging.flat[:divergent] = True
    return {"sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging)})}


@pytest.mark.parametrize(
    ("groups", "adaptation", "divergent", "again"),
    [
        (1, "auto", 3, True),  # auto chose low_rank, and it diverged: diag again
        (1, "auto", 0, False),  # low_rank sampled cleanly: keep it
        (3, "auto", 3, False),  # hierarchical: auto already chose diag
        (1, "low_rank", 3, False),  # asked for by name: never overridden
    ],
)
def test_a_diverging_low_rank_run_is_sampled_again_with_diag(groups, adaptation, divergent, again):
    from models.config import resolve_config
    from models.sampling import _diag_fallback

    config, _ = resolve_config(models.get_family("chinchilla"), groups)
    settings = models.SamplerSettings(adaptation=adaptation)
    fallback = _diag_fallback(_stats(divergent), config, settings)
    assert (fallback is not None) == again
    if again:
        assert fallback == models.SamplerSettings(adaptation="diag")


def test_the_fallback_is_reported_as_a_warning():
    from models.diagnostics import diagnose
    from tests.utils import minimal_trace

    trace = minimal_trace()
    assert not [w for w in diagnose(trace, None).warnings if w.code == "mass_matrix_fallback"]
    trace.attrs["init"] = {
        "method": "jitter",
        "mass_matrix": {"first": "low_rank", "divergences": 0, "used": "diag"},
    }
    d = diagnose(trace, None)
    (warning,) = [w for w in d.warnings if w.code == "mass_matrix_fallback"]
    assert "diagonal" in warning.message and d.init["mass_matrix"]["used"] == "diag"
