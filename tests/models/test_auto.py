"""family auto: candidates from inputs, refused options, the stacked result end to end."""

from __future__ import annotations

import numpy as np
import pytest

import models
from models.auto import candidates, non_monotone
from models.errors import DataError, FamilyError
from tests.utils import CHINCHILLA_TRUTH, chinchilla_inputs

SMALL = models.SamplerSettings(draws=60, tune=60, chains=2, seed=3)


def _curve(n: int = 24, x: str = "data") -> models.ScalingData:
    values = np.geomspace(1e8, 1e11, n)
    loss = 1.8 + 30 * values**-0.15 * np.exp(np.random.default_rng(0).normal(0, 0.01, n))
    return models.ScalingData({x: values}, loss, np.array(["run"] * n))


def _keys(found):
    return [c.family.key() for c in found]


def test_candidates_follow_the_inputs():
    found, _, k = candidates(_curve())
    assert _keys(found)[:3] == [
        "power_law(x=data)",
        "broken_power_law(breaks=1,x=data)",
        "broken_power_law(breaks=2,x=data)",
    ]
    assert k is None
    data = models.simulate.simulate(
        models.get_family("chinchilla"), CHINCHILLA_TRUTH, chinchilla_inputs(30), seed=1
    )
    found, work, k = candidates(data)
    assert _keys(found) == [
        "chinchilla",
        "power_law(x=compute)",
        "broken_power_law(breaks=1,x=compute)",
    ]
    assert k == 6.0
    np.testing.assert_allclose(
        work.inputs["compute"], 6 * data.inputs["params"] * data.inputs["data"]
    )
    unique = dict(data.inputs, unique_data=data.inputs["data"] / 2)
    found, _, _ = candidates(models.ScalingData(unique, data.loss, data.group))
    assert "data_constrained" in _keys(found)


def test_double_descent_is_a_candidate_only_for_non_monotone_curves():
    x = np.geomspace(10, 1e4, 30)
    bump = 1 + np.exp(-((np.log(x) - np.log(300)) ** 2))
    # a width sweep at one dataset size D (double descent needs both inputs)
    inputs = {"params": x, "data": np.full(30, 500.0)}
    data = models.ScalingData(inputs, 0.3 + x**-0.3 + bump, np.array(["a"] * 30))
    assert non_monotone(data, "params")
    found = [c.family.name for c in candidates(data)[0]]
    assert "double_descent" in found and "power_law" in found  # constant D: laws over N
    assert not non_monotone(_curve(x="params"), "params")
    # a two-input sweep is not ordered by N across D: no false alarm
    sweep = models.simulate.simulate(
        models.get_family("chinchilla"), CHINCHILLA_TRUTH, chinchilla_inputs(30), seed=1
    )
    assert not non_monotone(sweep, "params")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"family_options": {"x": "data"}}, "family_options"),
        ({"priors": {"alpha": {"dist": "Normal", "kwargs": {"mu": 0, "sigma": 1}}}}, "priors"),
        ({"pooling": {"E": "shared"}}, "pooling"),
    ],
)
def test_options_meant_for_one_family_are_refused(kwargs, field):
    with pytest.raises(FamilyError) as info:
        models.validate_fit(_curve(), "auto", **kwargs)
    assert info.value.field == field


def test_too_few_rows_for_every_candidate_names_loss():
    with pytest.raises(DataError) as info:
        models.validate_fit(_curve(n=3), "auto")
    assert info.value.field == "loss"


def test_auto_end_to_end_with_prior_draws(mock_sampler):
    data = _curve()
    fit = models.fit(data, settings=SMALL)
    report = fit.stacking
    assert report is not None and report["axis"] == "data"
    assert report["cuts"] == [0.5, 0.65, 0.8]
    weights = [c["weight"] for c in report["candidates"]]
    assert np.isclose(sum(weights), 1.0)
    for c in report["candidates"]:
        assert c["lfo_rows"] == report["scored_rows"] > 0
        assert len(c["refits"]) == 3
        assert c["discrepancy"]["tau_median"] > 0
        lo, hi = c["weight_interval"]
        assert 0.0 <= lo <= hi <= 1.0
    prediction = fit.predict({"data": [1e9, 1e13]}, probs=(0.9,))
    assert prediction.decades[1] == pytest.approx(2.0)
    # stored and loaded: the same predictions, the same report
    again = models.load_fit(models.fit_to_bytes(fit))
    assert again.stacking == report
    redo = again.predict({"data": [1e9, 1e13]}, probs=(0.9,))
    np.testing.assert_allclose(redo.median, prediction.median)
    np.testing.assert_allclose(redo.new_run_interval[0.9][1], prediction.new_run_interval[0.9][1])
    assert len(fit.summary()) > 0


def test_refits_skip_loo_and_the_kept_laws_keep_it(mock_sampler, monkeypatch):
    """Leave-future-out refits are scored beyond their cut: their PSIS-LOO would be unused."""
    from models import fitting

    asked = []
    real = fitting.fit

    def spy(*args, **kwargs):
        asked.append(kwargs.get("loo", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(fitting, "fit", spy)
    fit = models.fit(_curve(), settings=SMALL)
    refits = sum(len(c["refits"]) for c in fit.stacking["candidates"])
    members = fit.members or [fit]
    assert refits > 0 and asked == [False] * refits + [True] * len(members)
    assert all(m.diagnostics.elpd_loo is not None for m in members)


def test_auto_with_two_inputs_plans_on_the_mixture(mock_sampler):
    data = models.simulate.simulate(
        models.get_family("chinchilla"), CHINCHILLA_TRUTH, chinchilla_inputs(30), seed=1
    )
    fit = models.fit(data, settings=SMALL)
    assert fit.family.inputs == ("params", "data")  # compute is derived, never asked for
    # distances beyond the data are measured along N, D and N*D (never the derived compute), as
    # the LFO records measured them
    discrepancies = getattr(fit.discrepancy, "members", [fit.discrepancy])
    assert all(set(d.log10_ranges) == {"params", "data", "params*data"} for d in discrepancies)
    p = fit.predict({"params": [1e9], "data": [2e10]})
    assert np.isfinite(p.median).all()
    target = models.probability_below(fit, {"params": [1e9], "data": [2e10]}, 3.0)
    assert 0 <= target.probability[0] <= 1


def test_a_lone_law_over_a_derived_compute_still_takes_n_and_d(mock_sampler):
    """If only a law over C = 6ND survives, its predictions still take the rows' N and D."""
    from models.auto import combine
    from models.discrepancy import Discrepancy, log10_ranges

    data = models.simulate.simulate(
        models.get_family("chinchilla"), CHINCHILLA_TRUTH, chinchilla_inputs(30), seed=1
    )
    inputs = dict(data.inputs, compute=6 * data.inputs["params"] * data.inputs["data"])
    work = models.ScalingData(inputs, data.loss, data.group)
    # as many draws as the mixture takes (a longer run would change which draws it resamples)
    alone = SMALL.with_(max_draws=None)
    member = models.fit(work, "power_law", family_options={"x": "compute"}, settings=alone)
    # as fit_auto sizes it: distances along the inputs the user gave
    member.discrepancy = Discrepancy.from_prior(log10_ranges(work.inputs, ["params", "data"]))
    fit = combine([member], np.array([1.0]), work, 6.0, SMALL)
    assert fit.family.inputs == ("params", "data")
    p = fit.predict({"params": [1e9], "data": [2e10]}, probs=(0.9,))
    q = member.predict({"compute": [6 * 1e9 * 2e10]}, probs=(0.9,))  # alone: no distance known
    np.testing.assert_allclose(p.median, q.median, rtol=0.02)
    assert q.decades[0] == 0.0


def _two_groups(n: int = 20) -> models.ScalingData:
    values = np.geomspace(1e8, 1e11, n)
    noise = np.exp(np.random.default_rng(1).normal(0, 0.01, 2 * n))
    loss = np.concatenate([1.8 + 30 * values**-0.15, 1.2 + 90 * values**-0.25]) * noise
    group = np.array(["a"] * n + ["b"] * n)
    return models.ScalingData({"data": np.concatenate([values, values])}, loss, group)


def test_weak_variants_only_for_kept_laws_of_several_groups_when_asked():
    from models.auto import WEAK_POOLING, Candidate, Scored, weakly_pooled_variants

    laws = [
        Candidate(models.get_family("power_law", x="data")),
        Candidate(models.get_family("broken_power_law", x="data")),
    ]
    scored = [Scored(c, [], []) for c in laws]
    weights = np.array([0.999, 1e-9])
    spec = models.FitSpec(family=models.AUTO, pooling="compare")
    (variant,) = weakly_pooled_variants(scored, weights, _two_groups(), spec)
    assert variant.family is laws[0].family and variant.pooling == "weak"
    assert variant.label() == "power_law(x=data) [weak pooling]"
    priors = variant.spec(spec).priors
    assert priors and laws[0].spec(spec).priors is None
    assert variant.spec(spec).pooling is None  # "compare" is auto's word; each law its own
    for name, hyper in priors.items():
        own = laws[0].family.param(name).default_hyper()
        assert hyper.mu == own.mu and hyper.sigma.dist == own.sigma.dist == "Gamma"
        assert hyper.sigma.kwargs["beta"] == pytest.approx(own.sigma.kwargs["beta"] / WEAK_POOLING)
    for other in (None, "partial"):  # not asked: the default, or a pooling of the user's
        plain = models.FitSpec(family=models.AUTO, pooling=other)
        assert weakly_pooled_variants(scored, weights, _two_groups(), plain) == []
    assert weakly_pooled_variants(scored, weights, _curve(), spec) == []  # one group
    with pytest.raises(FamilyError) as err:  # a named family has no variants to compare
        models.validate_fit(
            _two_groups(), "power_law", family_options={"x": "data"}, pooling="compare"
        )
    assert err.value.field == "pooling"


def test_auto_stacks_the_law_with_its_hierarchy_and_weakly_pooled(mock_sampler):
    fit = models.fit(_two_groups(), pooling="compare", settings=SMALL)
    report = fit.stacking
    assert report is not None
    poolings = {(c["family"], c["pooling"]) for c in report["candidates"]}
    weak = [c for c in report["candidates"] if c["pooling"] == "weak"]
    assert weak, poolings
    for c in weak:
        assert (c["family"], "default") in poolings  # a variant of a law scored with its hierarchy
        assert c["label"] == c["family"] + " [weak pooling]"
        assert len(c["refits"]) == 3 and c["lfo_rows"] == report["scored_rows"]
    assert np.isclose(sum(c["weight"] for c in report["candidates"]), 1.0)
    members = fit.members or [fit]
    kept = {c["label"] for c in report["candidates"] if c["fitted"]}
    assert {m.label for m in members} == kept
    # every variant keeps a population: a new group is predicted
    assert np.isfinite(fit.predict({"data": [1e12]}, group="c", new_group=True).median).all()
    # without pooling "compare" (the default) there are no variants
    plain = models.fit(_two_groups(), settings=SMALL)
    assert {c["pooling"] for c in plain.stacking["candidates"]} == {"default"}
