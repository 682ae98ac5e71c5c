"""The 10⁵-row benchmark's code paths on a small size, NUTS replaced by prior draws."""

from __future__ import annotations

import json

import numpy as np

from benchmarks import large


def test_trajectories_are_seeded_runs_of_log_spaced_checkpoints() -> None:
    data = large.trajectories(3, checkpoints=50, seed=4)
    assert len(data) == 150 and len(np.unique(data.run)) == 3
    steps = data.inputs["steps"][data.run == data.run[0]]
    np.testing.assert_allclose(steps, np.geomspace(1e2, 1e5, 50))
    np.testing.assert_array_equal(data.loss, large.trajectories(3, checkpoints=50, seed=4).loss)


def test_run_fits_the_thinned_and_the_whole_trajectories(mock_sampler, monkeypatch, tmp_path):
    monkeypatch.setattr(large, "RUNS", {"quick": 3, "full": 3})
    monkeypatch.setattr(large, "CHECKPOINTS", 200)
    result = large.run(tmp_path, tmp_path, quick=True)
    thinned, whole = (result["rows"][name] for name in large.CASES)
    assert thinned["rows"] == 3 * 30  # the default max_per_run
    assert whole["rows"] == 3 * 200
    for row in (thinned, whole):
        assert row["sigma_run_median"] > 0 and row["steps_per_draw"] is None  # prior draws
    saved = json.loads((tmp_path / "large.json").read_text())
    assert saved["runs"] == 3 and set(saved["rows"]) == set(large.CASES)
