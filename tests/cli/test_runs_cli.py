"""``--run-col`` and ``--max-per-run``: trajectories from a CSV, locally and through a server."""

from __future__ import annotations

import json

import numpy as np
import pytest

import models
from cli.main import main
from tests.cli.test_remote_cli import server  # noqa: F401 - fixture

SMALL = ("--draws", "40", "--tune", "10", "--chains", "2", "--quiet")


@pytest.fixture
def trajectories_csv(tmp_path):
    data, _ = models.simulate.simulate_runs(
        models.get_family("power_law", x="steps"),
        {"E": 2.0, "A": 20.0, "alpha": 0.4},
        {"steps": np.geomspace(100, 1e5, 50)},
        n_runs=2,
    )
    frame = data.to_frame().drop(columns="group").rename(columns={"run": "seed"})
    path = tmp_path / "traj.csv"
    frame.to_csv(path, index=False)
    return path


def fit(capsys, path, tmp_path, *extra):
    args = ["fit", str(path), "--family", "power_law", "--family-option", "x=steps"]
    code = main([*args, *SMALL, "-o", str(tmp_path / "fit.nc"), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_run_col_fits_a_run_effect_and_thins(capsys, tmp_path, trajectories_csv, mock_sampler):
    code, out, _ = fit(capsys, trajectories_csv, tmp_path, "--run-col", "seed", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["config"]["n_runs"] == 2
    assert payload["diagnostics"]["thinning"]["rows_before"] == 100
    assert payload["diagnostics"]["thinning"]["rows_after"] <= 2 * models.DEFAULT_MAX_PER_RUN
    code, out, _ = fit(
        capsys, trajectories_csv, tmp_path, "--run-col", "seed", "--max-per-run", "none"
    )
    assert code == 0 and "100 -> 100 rows" in out
    code, out, _ = fit(
        capsys, trajectories_csv, tmp_path, "--run-col", "seed", "--max-per-run", "5"
    )
    assert code == 0 and "at most 5 checkpoints per run along steps: 100 -> 10 rows" in out
    code, out, _ = fit(capsys, trajectories_csv, tmp_path)
    assert code == 0 and "runs:" not in out


def test_bad_run_column_and_max_per_run_are_errors(capsys, tmp_path, trajectories_csv):
    code, _, err = fit(capsys, trajectories_csv, tmp_path, "--run-col", "nope")
    assert code != 0 and "run column 'nope'" in err
    with pytest.raises(SystemExit):
        fit(capsys, trajectories_csv, tmp_path, "--max-per-run", "many")
    code, _, err = fit(
        capsys, trajectories_csv, tmp_path, "--run-col", "seed", "--max-per-run", "1"
    )
    assert code != 0 and "max_per_run" in err


def test_remote_fit_takes_max_per_run(server, trajectories_csv, capsys, tmp_path):  # noqa: F811
    csv = tmp_path / "upload.csv"
    csv.write_text(trajectories_csv.read_text().replace("seed", "run"))
    assert main(["remote", "upload", "traj", str(csv)]) == 0, capsys.readouterr()
    capsys.readouterr()
    args = ["remote", "fit", "traj", "--family", "power_law", "--family-option", "x=steps"]
    small = ["--draws", "20", "--tune", "10", "--chains", "1", "--wait", "--json"]
    code = main([*args, "--max-per-run", "7", *small])
    out = capsys.readouterr().out
    assert code == 0, out
    payload = json.loads(out)
    assert payload["spec"]["max_per_run"] == 7
    assert payload["diagnostics"]["thinning"]["rows_after"] == 14
