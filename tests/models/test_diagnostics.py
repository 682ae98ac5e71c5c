import numpy as np
import pytest
import xarray as xr

from models.diagnostics import Diagnostics, Thresholds, diagnose


def trace(chains=4, draws=500, *, shift=0.0, divergent=0, seed=0):
    """A fake trace: two well-mixed variables; ``shift`` offsets chain 0 to break R-hat."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(chains, draws))
    x[0] += shift
    post = xr.Dataset(
        {"x": (("chain", "draw"), x), "y": (("chain", "draw"), rng.normal(size=(chains, draws)))}
    )
    div = np.zeros((chains, draws), dtype=bool)
    div.flat[:divergent] = True
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), div),
            "energy": (("chain", "draw"), rng.normal(size=(chains, draws))),
        }
    )
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})


def loglik(chains=4, draws=500, n=20, seed=0):
    rng = np.random.default_rng(seed)
    return -0.5 * (rng.normal(size=(1, 1, n)) + 0.05 * rng.normal(size=(chains, draws, n))) ** 2


def test_clean_trace_converges():
    d = diagnose(trace(), loglik())
    assert d.converged and d.reasons == ()
    assert d.r_hat_max < 1.01 and d.ess_bulk_min > 400 and d.divergences == 0
    assert d.elpd_loo is not None and d.pareto_k_max is not None and d.pareto_k_bad == 0


def test_divergences_fail_convergence_and_warn():
    """Any divergence means the posterior may be biased: the fit must say so."""
    d = diagnose(trace(divergent=3), None)
    assert not d.converged
    assert "3 divergent transitions" in d.reasons
    assert [w.code for w in d.warnings] == ["divergences"]
    assert d.elpd_loo is None


def test_stuck_chain_fails_r_hat():
    d = diagnose(trace(shift=3.0), None)
    assert not d.converged and any("R-hat" in r for r in d.reasons)


def test_too_few_draws_fail_ess():
    d = diagnose(trace(draws=30), None)
    assert any("ESS" in r for r in d.reasons)


def test_one_chain_cannot_claim_convergence():
    d = diagnose(trace(chains=1), None)
    assert not d.converged and "one chain: R-hat cannot be checked" in d.reasons


def test_thresholds_are_named_and_configurable():
    lenient = Thresholds(divergences_max=5)
    assert diagnose(trace(divergent=3), None, thresholds=lenient).converged


def test_dict_round_trip():
    d = diagnose(trace(divergent=1), loglik())
    assert Diagnostics.from_dict(d.to_dict()) == d


@pytest.mark.parametrize("outlier", [50.0])
def test_outlier_gives_high_pareto_k_warning(outlier):
    """An observation the model cannot explain makes LOO unreliable: warn, suggest Student-t."""
    rng = np.random.default_rng(1)
    mu = rng.normal(0, 0.1, size=(4, 500, 1))
    y = np.zeros(20)
    y[0] = outlier * 0.1
    ll = -0.5 * ((y - mu) / 0.1) ** 2
    d = diagnose(trace(), ll)
    assert d.pareto_k_bad >= 1
    assert any(w.code == "high_pareto_k" and "student_t" in w.message for w in d.warnings)

    # a fit that is already Student-t is not told to become one
    t = trace()
    nu = np.random.default_rng(2).gamma(20.0, size=(4, 500))
    t["posterior"] = t["posterior"].to_dataset().assign(nu=(("chain", "draw"), nu))
    (warning,) = [w for w in diagnose(t, ll).warnings if w.code == "high_pareto_k"]
    assert "student_t" not in warning.message and "only one pinning" in warning.message


def test_loo_in_blocks_of_observations_is_arviz_s_loo_of_the_whole() -> None:
    """PSIS is per observation: blocks give ArviZ's own figures for the whole array."""
    import arviz_stats as azs

    t, ll = trace(), loglik(n=23)
    ll[:, :, 5] -= 40 * np.random.default_rng(3).random((4, 500)) ** 8  # one high-k row
    whole = diagnose(t, ll)
    blocks = diagnose(t, iter([ll[:, :, :7], ll[:, :, 7:14], ll[:, :, 14:]]))
    data = xr.DataTree.from_dict(
        {
            "posterior": t["posterior"].to_dataset(),
            "log_likelihood": xr.Dataset({"y": (("chain", "draw", "obs"), ll)}),
        }
    )
    with pytest.warns(UserWarning, match="greater than 0.70"):  # the high-k row
        reference = azs.loo(data, pointwise=True, var_name="y")
    for d in (whole, blocks):
        assert d.elpd_loo == pytest.approx(float(reference.elpd), rel=1e-12)
        assert d.elpd_loo_se == pytest.approx(float(reference.se), rel=1e-12)
        assert d.p_loo == pytest.approx(float(reference.p), rel=1e-12)
        assert d.pareto_k_max == pytest.approx(float(np.max(reference.pareto_k)), rel=1e-12)
    assert blocks.pareto_k_bad == whole.pareto_k_bad


def test_stuck_chain_repeating_one_draw_leaves_loo_undefined_not_an_exception():
    """A chain frozen on one draw gave PSIS identical tail weights: it raised out of the fit."""
    t = trace(shift=3.0)
    ll = loglik()
    ll[:] = ll[0, 0]  # every draw the same log-likelihood: importance weights all equal
    d = diagnose(t, ll)
    assert not d.converged and d.elpd_loo is None and d.pareto_k_max is None


def test_a_failed_check_names_the_parameter_and_group_that_did_not_mix():
    """R-hat names the worst element; a sampled `_raw` value is reported by its parameter's name."""
    rng = np.random.default_rng(3)
    offset = rng.normal(size=(4, 500, 3))
    offset[0, :, 1] += 5.0  # chain 0 sits elsewhere for group "b" only
    post = xr.Dataset(
        {
            "alpha_raw": (("chain", "draw", "group"), offset),
            "sigma": (("chain", "draw"), rng.normal(size=(4, 500))),
        },
        coords={"group": ["a", "b", "c"]},
    )
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros((4, 500), dtype=bool)),
            "energy": (("chain", "draw"), rng.normal(size=(4, 500))),
        }
    )
    d = diagnose(xr.DataTree.from_dict({"posterior": post, "sample_stats": stats}), None)
    assert not d.converged
    r_hat = next(r for r in d.reasons if r.startswith("max R-hat"))
    assert r_hat.endswith('(at alpha, group "b")')
    ess = next(r for r in d.reasons if r.startswith("min ESS"))
    assert ess.endswith('(at alpha, group "b")')


def test_a_block_of_pooled_parameters_is_reported_by_parameter_name():
    """``pooled_raw`` at (pooled_param "beta", group "b") is ``beta``; its spread ``beta_sigma``."""
    rng = np.random.default_rng(4)
    raw = rng.normal(size=(4, 500, 2, 3))
    raw[0, :, 1, 1] += 5.0  # beta, group "b": chain 0 elsewhere
    spread = rng.normal(size=(4, 500, 2))
    spread[1, :, 1] += 5.0
    post = xr.Dataset(
        {
            "pooled_raw": (("chain", "draw", "pooled_param", "group"), raw),
            "pooled_sigma": (("chain", "draw", "pooled_param"), spread),
        },
        coords={"group": ["a", "b", "c"], "pooled_param": ["alpha", "beta"]},
    )
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros((4, 500), dtype=bool)),
            "energy": (("chain", "draw"), rng.normal(size=(4, 500))),
        }
    )
    d = diagnose(xr.DataTree.from_dict({"posterior": post, "sample_stats": stats}), None)
    r_hat = next(r for r in d.reasons if r.startswith("max R-hat"))
    assert r_hat.endswith('(at beta, group "b")') or r_hat.endswith("(at beta_sigma)")
    worst_sigma = diagnose(
        xr.DataTree.from_dict({"posterior": post[["pooled_sigma"]], "sample_stats": stats}), None
    )
    assert next(r for r in worst_sigma.reasons if r.startswith("max R-hat")).endswith(
        "(at beta_sigma)"
    )


@pytest.mark.parametrize("name", ["maxdepth_reached", "reached_max_treedepth"])
def test_trajectories_cut_at_the_maximum_depth_are_reported(name):
    """An efficiency warning (nutpie's or PyMC's flag), not a convergence failure."""
    t = trace()
    stats = t["sample_stats"].to_dataset()
    flags = np.zeros((4, 500), dtype=bool)
    flags[:, :100] = True  # 20 % of draws
    stats[name] = (("chain", "draw"), flags)
    stats["n_steps"] = (("chain", "draw"), np.full((4, 500), 1023.0))
    d = diagnose(
        xr.DataTree.from_dict({"posterior": t["posterior"].to_dataset(), "sample_stats": stats}),
        None,
    )
    (w,) = [w for w in d.warnings if w.code == "max_tree_depth"]
    assert w.message.startswith("20% of draws") and "1023 leapfrog steps" in w.message
    assert d.converged  # the draws themselves are fine


def test_a_few_cut_trajectories_or_none_reported_say_nothing():
    t = trace()
    stats = t["sample_stats"].to_dataset()
    flags = np.zeros((4, 500), dtype=bool)
    flags[:, :25] = True  # 5 %: under the threshold
    stats["maxdepth_reached"] = (("chain", "draw"), flags)
    for s in (stats, t["sample_stats"].to_dataset()):  # and a sampler without the flag
        d = diagnose(
            xr.DataTree.from_dict({"posterior": t["posterior"].to_dataset(), "sample_stats": s}),
            None,
        )
        assert "max_tree_depth" not in {w.code for w in d.warnings}
