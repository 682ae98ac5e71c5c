"""Growth benchmark code paths on tiny sizes, NUTS replaced by prior draws (no timings asserted)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import models
from benchmarks import scaling
from models import SamplerSettings
from tests.utils import replace_sampler

TINY_GRID = scaling.Grid(
    observations=(8, 80),
    groups=(1, 3),
    points=(1, 10, 100),
    draws=(40, 400),
    warm_repeats=1,
    tries=1,
    settings=SamplerSettings(draws=20, tune=10, chains=2, seed=0),
    time_limit_s=60.0,
)


def test_grouped_dataset_gives_each_group_its_own_sweep() -> None:
    data = scaling.grouped_dataset(5, seed=3, points_per_group=7)
    assert len(data) == 35
    assert data.groups == [f"g{i:03d}" for i in range(5)]
    again = scaling.grouped_dataset(5, seed=3, points_per_group=7)
    np.testing.assert_array_equal(data.loss, again.loss)  # seeded
    first, second = (data.inputs["params"][data.group == g] for g in ("g000", "g001"))
    assert not np.allclose(first, second)


def test_observations_dataset_keeps_the_standard_structure() -> None:
    data = scaling.observations_dataset(1_000, seed=0)
    assert len(data) == 1_000 and len(data.groups) == 4


def test_quick_grid_is_a_subset_of_the_full_grid() -> None:
    quick, full = scaling.grid(quick=True), scaling.grid(quick=False)
    for field in ("observations", "groups", "points", "draws"):
        assert set(getattr(quick, field)) <= set(getattr(full, field)), field
    assert full.observations == (100, 1_000, 10_000) and full.groups == (1, 3, 10, 30, 100)


def test_growth_records_cold_and_warm_fits_per_size(mock_sampler) -> None:
    by_obs, by_groups, standard = scaling.growth(TINY_GRID)
    assert [r["size"] for r in by_obs] == [8, 80]
    assert [r["size"] for r in by_groups] == [1, 3]
    for record in by_obs + by_groups:
        assert "error" not in record["cold"] and len(record["warm"]) == 1
    assert [r["cold"]["n_groups"] for r in by_groups] == [1, 3]
    assert by_obs[1]["warm"][0]["n_observations"] == 80
    # sampling is timed around sample_posterior (nutpie.sample itself returns at once)
    phases = by_obs[0]["warm"][0]["phases_s"]
    assert phases["sample"] > 0 and "sample_posterior" not in phases
    assert standard is not None and len(standard.data) == 8


def test_a_failing_fit_is_reported_not_hidden(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("sampler exploded")

    replace_sampler(monkeypatch, broken)
    record, fit = scaling.size_runs(
        "groups", 2, lambda seed: scaling.grouped_dataset(2, seed, 5), TINY_GRID, "partial"
    )
    assert fit is None
    assert record["cold"]["error"] == "RuntimeError: sampler exploded"
    row = scaling.size_row(record)
    assert row[-1] == "RuntimeError: sampler exploded"
    result = {"observations": [], "groups": [record], "predict": []}
    (raised,) = scaling.checks(result, quick=True)
    assert raised.measured == 2.0 and not raised.passed


def test_with_draws_repeats_draws_beyond_the_fit(mock_sampler) -> None:
    fit = models.fit(
        scaling.observations_dataset(8, 0), scaling.FAMILY, settings=TINY_GRID.settings
    )
    assert scaling.with_draws(fit, 10).draws["sigma"].shape == (10,)
    bigger = scaling.with_draws(fit, 100)
    sigma = bigger.draws["sigma"].reshape(2, 50)
    np.testing.assert_array_equal(sigma[:, :20], sigma[:, 20:40])  # cycled per chain


def test_run_writes_json_tables_and_plot(mock_sampler, monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(scaling, "grid", lambda quick: TINY_GRID)
    result = scaling.run(tmp_path, tmp_path, quick=True)
    out = capsys.readouterr().out
    assert "Fit versus observations" in out and "fit.predict median latency" in out
    assert (tmp_path / "scaling-quick.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "scaling.json").read_text())
    assert saved["environment"]["nproc"] >= 1
    cells = {(r["points"], r["draws"]) for r in saved["predict"]}
    assert cells == {(p, d) for p in (1, 10, 100) for d in (40, 400)}
    assert all(r["draws_repeated"] for r in saved["predict"] if r["draws"] == 400)
    # predict ratios start at 100 points, and this grid stops there
    names = [c.name for c in scaling.checks(result, quick=True)]
    assert names == ["fits that raised", "warm fit 80 rows / 8 rows"]


@pytest.mark.parametrize(("ratio", "passed"), [(9.0, True), (20.0, False)])
def test_observation_ratio_bound(ratio: float, passed: bool) -> None:
    def size(n: int, wall: float) -> dict:
        fit = {"wall_s": wall, "n_observations": n}
        return {"size": n, "cold": fit, "warm": [fit]}

    result = {"observations": [size(100, 1.0), size(1000, ratio)], "groups": [], "predict": []}
    check = scaling.checks(result, quick=False)[1]
    assert check.name == "warm fit 1000 rows / 100 rows"
    assert check.measured == pytest.approx(ratio) and check.passed is passed
