"""Training runs: the ``run`` field, the run effect (model, LOO, prediction) and thinning."""

import io

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import models
from models import DataError, PriorError, ScalingData, SettingsError
from models.build import build_model, prepare
from models.config import resolve_config
from models.fitting import pointwise_log_likelihood
from models.runs import DEFAULT_MAX_PER_RUN, thin_runs
from models.simulate import simulate_runs
from tests.utils import prior_trace

STEPS_LAW = models.get_family("power_law", x="steps")
TRUTH = {"E": 2.0, "A": 20.0, "alpha": 0.4}


def trajectories(n_runs=3, n=50, seed=0):
    return simulate_runs(
        STEPS_LAW, TRUTH, {"steps": np.geomspace(100, 1e5, n)}, n_runs=n_runs, seed=seed
    )[0]


# -- data ------------------------------------------------------------------------------------------


def test_run_column_is_read_as_names_and_meta_is_unaffected():
    frame = pd.DataFrame(
        {
            "steps": [1, 2, 3, 4],
            "loss": [3.0, 2.5, 3.1, 2.6],
            "seed": [7, 7, 8, 8],
            "note": list("abcd"),
        }
    )
    data = ScalingData.from_frame(frame, run_col="seed")
    assert data.run.tolist() == ["7", "7", "8", "8"] and data.runs == ["7", "8"]
    assert data.run_index.tolist() == [0, 0, 1, 1]
    assert list(data.meta.columns) == ["seed", "note"]
    mapped = ScalingData.from_frame(frame, {"run": "seed"})
    assert mapped.run.tolist() == data.run.tolist()
    csv = ScalingData.from_csv(io.StringIO(frame.to_csv(index=False)), run_col="seed")
    assert csv.runs == ["7", "8"]


def test_without_runs_nothing_changes():
    data = trajectories()
    plain = ScalingData(data.inputs, data.loss)
    assert plain.run is None and plain.runs == []
    assert "run" not in plain.to_frame().columns
    assert ScalingData(data.inputs, data.loss, run=[None] * len(data)).run is None
    assert ScalingData(data.inputs, data.loss).digest() == plain.digest() != data.digest()


@pytest.mark.parametrize(
    ("run", "message"),
    [(["a", "", "b"], "is empty"), (["a", "  ", "b"], "is empty"), (["a", 3, "b"], "not a string")],
)
def test_bad_run_names_the_field(run, message):
    with pytest.raises(DataError, match=message) as err:
        ScalingData({"steps": [1.0, 2.0, 3.0]}, [3.0, 2.0, 1.5], run=run)
    assert err.value.field == "run"


def test_blank_run_cell_and_missing_run_column_are_errors():
    frame = pd.DataFrame({"steps": [1, 2], "loss": [3.0, 2.0], "r": ["a", None]})
    with pytest.raises(DataError, match="'run' is empty in 1 row") as err:
        ScalingData.from_frame(frame, run_col="r")
    assert err.value.field == "run"
    with pytest.raises(DataError) as err:
        ScalingData.from_frame(frame, run_col="nope")
    assert err.value.field == "run"


def test_runs_of_one_row_get_no_effect():
    """A per-row id column (every run one row) gives today's model, not one effect per row."""
    data = trajectories(n_runs=2, n=5)
    ids = ScalingData(data.inputs, data.loss, run=[f"id{i}" for i in range(len(data))])
    assert ids.runs == [] and set(ids.run_index) == {0}
    config, _ = models.validate_fit(ids, STEPS_LAW)
    assert config.n_runs == 0
    mixed = ScalingData(data.inputs, data.loss, run=[*data.run[:-1], "lonely"])
    assert mixed.runs == ["run0", "run1"] and mixed.run_index[-1] == 2


def test_rows_of_no_run_index_past_the_runs_and_subset_keeps_runs():
    run = ["b", None, "a", "b", "a"]
    data = ScalingData({"steps": [1.0, 2.0, 3.0, 4.0, 5.0]}, [3.0, 2.0, 1.5, 1.2, 1.1], run=run)
    assert data.runs == ["a", "b"]
    assert data.run_index.tolist() == [1, 2, 0, 1, 0]
    part = data.subset(np.array([True, True, True, True, False]))
    assert part.run.tolist() == ["b", None, "a", "b"] and part.logged_runs == ["b"]
    # one run left: its effect would be the curve's level again, so none is modelled
    assert part.runs == [] and set(part.run_index) == {0}


def test_one_run_is_thinned_but_gets_no_effect():
    """A training log of one run: thinned to log-spaced checkpoints, fitted without a run term."""
    data = trajectories(n_runs=1, n=200)
    assert data.logged_runs == ["run0"] and data.runs == []
    config, _ = models.validate_fit(data, STEPS_LAW)
    assert config.n_runs == 0 and "sigma_run" not in config.noise
    thinned, report = thin_runs(data, 30)
    assert report is not None and report.runs == 1 and report.runs_thinned == 1
    assert len(thinned) <= 30


# -- model -----------------------------------------------------------------------------------------


def test_fits_without_runs_keep_todays_structure_key_and_graph():
    """Keys computed on main before runs existed: a fit without runs reuses today's model.

    In the natural coordinates: pivot coordinates (models.pivot) came later, with keys of their
    own.
    """
    for fam, n_groups, likelihood, key in [
        (STEPS_LAW, 1, "normal", "a0b29d022b451d4c"),
        (STEPS_LAW, 1, "student_t", "ed74f415e65ae7a6"),
        (models.get_family("chinchilla"), 3, "normal", "88065fd4498adff8"),
    ]:
        config, _ = resolve_config(fam, n_groups, likelihood=likelihood, parametrisation="natural")
        assert config.structure_key == key
        assert "n_runs" not in config.to_json() and "sigma_run" not in config.priors_json()
    data = trajectories()
    config, _ = resolve_config(STEPS_LAW, 1, likelihood="normal", parametrisation="natural")
    md = prepare(
        ScalingData(data.inputs, data.loss), STEPS_LAW.inputs, data.default_scales(("steps",))
    )
    assert set(md.containers()) == {"x_steps", "x_log_steps", "group_idx", "log_loss_obs"}
    model = build_model(config, md)
    assert [v.name for v in model.free_RVs] == ["E", "A", "alpha", "sigma"]
    assert "run" not in model.coords


def test_runs_add_a_run_dim_to_the_key_and_a_run_effect():
    data = trajectories(n_runs=4)
    config, _ = resolve_config(STEPS_LAW, 1, n_runs=4, likelihood="normal")
    plain, _ = resolve_config(STEPS_LAW, 1, likelihood="normal")
    assert config.structure_key != plain.structure_key
    assert config.to_json()["n_runs"] == 4
    assert config.priors_json()["sigma_run"] == {"dist": "HalfNormal", "kwargs": {"sigma": 0.05}}
    md = prepare(data, STEPS_LAW.inputs, data.default_scales(("steps",)))
    model = build_model(config, md)
    # the law's parameters are one vector in pivot coordinates (models.pivot)
    assert {v.name for v in model.free_RVs} == {"shared_log", "run_effect", "sigma", "sigma_run"}
    assert {v.name for v in model.deterministics} == {"E", "A", "alpha"}
    assert list(model.coords["run"]) == ["run0", "run1", "run2", "run3"]
    assert "run_idx" in md.containers()


def test_sigma_run_prior_can_be_overridden_only_with_runs():
    config, _ = resolve_config(
        STEPS_LAW,
        1,
        n_runs=2,
        priors={"sigma_run": {"dist": "HalfNormal", "kwargs": {"sigma": 0.2}}},
    )
    assert config.noise["sigma_run"].kwargs == {"sigma": 0.2}
    with pytest.raises(PriorError) as err:
        resolve_config(
            STEPS_LAW, 1, priors={"sigma_run": {"dist": "HalfNormal", "kwargs": {"sigma": 0.2}}}
        )
    assert err.value.field == "sigma_run"


def test_pointwise_log_likelihood_uses_the_run_effects():
    data = ScalingData(
        {"steps": np.geomspace(100, 1e4, 6)},
        [3.0, 2.8, 2.6, 2.5, 2.4, 2.3],
        run=["a", "a", "b", "b", None, None],
    )
    config, _ = resolve_config(STEPS_LAW, 1, n_runs=2, likelihood="normal")
    md = prepare(data, STEPS_LAW.inputs, data.default_scales(("steps",)))
    posterior = prior_trace(config, md, chains=1, draws=5, seed=1)["posterior"].to_dataset()
    ll = pointwise_log_likelihood(config, md, posterior)[0]
    p = {k: posterior[k].values[0][:, None] for k in ("E", "A", "alpha")}
    mu = np.log(STEPS_LAW.curve(np, md.x, p))
    b = posterior["run_effect"].values[0]
    shift = np.stack([b[:, 0], b[:, 0], b[:, 1], b[:, 1], 0 * b[:, 0], 0 * b[:, 0]], axis=1)
    sigma = posterior["sigma"].values[0][:, None]
    np.testing.assert_allclose(ll, stats.norm.logpdf(md.log_loss, mu + shift, sigma))
    assert np.all(np.abs(shift[:, :4]) > 0)


def test_the_log_likelihood_in_blocks_of_rows_is_the_whole_one():
    """A large fit's log-likelihood is computed a block of rows at a time (never held whole)."""
    from models.fitting import log_likelihood_chunks

    data = trajectories(n_runs=3)
    config, _ = resolve_config(STEPS_LAW, 1, n_runs=3)
    md = prepare(data, STEPS_LAW.inputs, data.default_scales(("steps",)))
    posterior = prior_trace(config, md, chains=2, draws=10, seed=2)["posterior"].to_dataset()
    whole = pointwise_log_likelihood(config, md, posterior)
    blocks = list(log_likelihood_chunks(config, md, posterior, chunk_values=20 * 7))
    assert [b.shape[-1] for b in blocks[:-1]] == [7] * (len(blocks) - 1)  # 20 draws x 7 rows
    assert len(blocks) == -(-len(data) // 7)
    np.testing.assert_array_equal(np.concatenate(blocks, axis=-1), whole)


def test_new_run_interval_has_a_fresh_run_effect_and_the_mean_interval_none(mock_sampler):
    fit = models.fit(
        trajectories(n_runs=3),
        STEPS_LAW,
        priors={"sigma_run": {"dist": "HalfNormal", "kwargs": {"sigma": 3.0}}},
        settings=models.SamplerSettings(draws=400, chains=2),
    )
    points = {"steps": [1e3, 1e4]}
    with_runs = fit.predict(points, probs=(0.9,))
    sigma_run = fit.draws.pop("sigma_run")
    without = fit.predict(points, probs=(0.9,))
    fit.draws["sigma_run"] = sigma_run
    for a, b in zip(with_runs.mean_interval[0.9], without.mean_interval[0.9], strict=True):
        np.testing.assert_array_equal(a, b)
    width = np.log(with_runs.new_run_interval[0.9][1] / with_runs.new_run_interval[0.9][0])
    narrow = np.log(without.new_run_interval[0.9][1] / without.new_run_interval[0.9][0])
    assert np.all(width > narrow + 1.0)  # sigma_run ~ HalfNormal(3): a wide fresh effect
    assert "sigma_run" in set(fit.summary()["parameter"])


# -- thinning --------------------------------------------------------------------------------------


def test_thinning_keeps_log_spaced_checkpoints_with_first_and_last():
    data = trajectories(n_runs=2, n=500)
    extra = ScalingData({"steps": [50.0, 60.0]}, [4.0, 3.9])
    mixed = ScalingData(
        {"steps": np.concatenate([data.inputs["steps"], extra.inputs["steps"]])},
        np.concatenate([data.loss, extra.loss]),
        run=[*data.run, None, None],
    )
    thinned, report = thin_runs(mixed, 20)
    assert report.to_dict() == {
        "max_per_run": 20,
        "axis": "steps",
        "rows_before": 1002,
        "rows_after": len(thinned),
        "runs": 2,
        "runs_thinned": 2,
    }
    for name in ("run0", "run1"):
        steps = np.sort(thinned.inputs["steps"][thinned.run == name])
        assert 15 <= len(steps) <= 20
        assert steps[0] == 100 and steps[-1] == pytest.approx(1e5)
        gaps = np.diff(np.log10(steps))
        assert gaps.max() < 2.5 * 3 / 19  # evenly spread in log steps, not bunched
    assert (thinned.run == None).sum() == 2  # noqa: E711 - rows of no run are all kept


def test_short_runs_and_no_runs_are_not_thinned():
    data = trajectories(n_runs=2, n=10)
    same, report = thin_runs(data, DEFAULT_MAX_PER_RUN)
    assert same is data and report.rows_after == report.rows_before == 20
    assert thin_runs(data, None)[0] is data
    plain = ScalingData(data.inputs, data.loss)
    assert thin_runs(plain, 5) == (plain, None)


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, "10", True])
def test_bad_max_per_run_names_the_field(bad):
    with pytest.raises(SettingsError) as err:
        thin_runs(trajectories(), bad)
    assert err.value.field == "max_per_run"


def test_fit_thins_by_default_and_reports_it(mock_sampler, tmp_path):
    data = trajectories(n_runs=2, n=100)
    settings = models.SamplerSettings(draws=50, chains=2)
    fit = models.fit(data, STEPS_LAW, settings=settings)
    assert fit.diagnostics.thinning["rows_before"] == 200
    assert fit.diagnostics.thinning["rows_after"] == len(fit.data) <= 2 * DEFAULT_MAX_PER_RUN
    full = models.fit(data, STEPS_LAW, settings=settings, max_per_run=None)
    assert len(full.data) == 200 and full.diagnostics.thinning["rows_after"] == 200
    plain = models.fit(ScalingData(data.inputs, data.loss), STEPS_LAW, settings=settings)
    assert plain.diagnostics.thinning is None and len(plain.data) == 200
    loaded = models.load_fit(models.save_fit(fit, tmp_path / "fit.nc"))
    assert loaded.diagnostics.thinning == fit.diagnostics.thinning
    assert loaded.data.run.tolist() == fit.data.run.tolist()
    assert loaded.config.structure_key == fit.config.structure_key


def test_saved_fit_keeps_rows_of_no_run(mock_sampler, tmp_path):
    data = ScalingData(
        {"steps": np.geomspace(10, 1e4, 8)}, np.linspace(3, 2, 8), run=[*"aaabbb", None, None]
    )
    fit = models.fit(data, STEPS_LAW, settings=models.SamplerSettings(draws=20, chains=1))
    loaded = models.load_fit(models.save_fit(fit, tmp_path / "fit.nc"))
    assert loaded.data.run.tolist() == data.run.tolist()
    assert loaded.data.digest() == data.digest()


def test_a_fit_s_loo_reads_its_log_likelihood_a_block_at_a_time(mock_sampler, monkeypatch):
    """The fit's diagnostics never hold the whole (draws x rows) log-likelihood."""
    from models import fitting

    blocks: list[int] = []
    whole = fitting.pointwise_log_likelihood

    def spy(config, md, posterior, rows=None):
        out = whole(config, md, posterior, rows)
        blocks.append(out.shape[-1])
        return out

    monkeypatch.setattr(fitting, "pointwise_log_likelihood", spy)
    monkeypatch.setattr(fitting, "LOGLIK_CHUNK_VALUES", 800 * 25)  # 2 x 400 draws: 25 rows
    data = trajectories(n_runs=3)
    fit = models.fit(data, STEPS_LAW, settings=models.SamplerSettings(draws=400, chains=2))
    rows = fit.diagnostics.thinning["rows_after"]
    assert max(blocks) == 25 and sum(blocks) % rows == 0 and len(blocks) >= 2 * rows // 25
    assert fit.diagnostics.elpd_loo is not None
