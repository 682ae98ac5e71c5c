"""``bayescale import mlflow`` against a real MLflow server: CSV, fit, plan, and a live service."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from cli.main import main
from service.client import Client
from service.config import Settings
from tests.client.conftest import live_server

# the server takes 10 s to minutes to start on a shared machine
pytestmark = pytest.mark.slow

SIZES = (2e7, 5e7, 1e8, 2e8, 4e8, 8e8)
STEPS = range(1, 21)
TOKENS_PER_STEP = 2e8
MAP = f"params=n_params,data=step*{TOKENS_PER_STEP:g},group=arch"


def chinchilla(n: float, d: float, rng: np.random.Generator) -> float:
    return float(1.7 + 406 / n**0.34 + 411 / d**0.28 + rng.normal(0, 0.01))


def log_sweep(uri: str, name: str, *, sizes=SIZES) -> dict[str, str]:
    """Runs of ``name`` as a training script logs them: params, a tag, val_loss per step."""
    client = MlflowClient(uri)
    experiment = client.create_experiment(name)
    rng = np.random.default_rng(0)
    ids = {}
    for n in sizes:
        run = client.create_run(experiment, run_name=f"n{n:.0e}").info.run_id
        client.log_param(run, "n_params", n)
        client.set_tag(run, "arch", "dense")
        now = int(time.time() * 1000)
        metrics = [
            Metric("val_loss", chinchilla(n, s * TOKENS_PER_STEP, rng), now + s, s) for s in STEPS
        ]
        client.log_batch(run, metrics=metrics)
        client.set_terminated(run)
        ids[f"n{n:.0e}"] = run
    return ids


def run_cli(capsys, *argv):
    capsys.readouterr()  # MLflow's client prints links when the test logs runs
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def import_args(uri, experiment, *rest):
    return ("import", "mlflow", "--tracking-uri", uri, "--experiment", experiment, *rest)


def test_import_to_csv_then_fit_and_plan_and_reimport_adds_nothing(
    mlflow_server, tmp_path, capsys, mock_sampler
):
    ids = log_sweep(mlflow_server, "sweep-csv")
    target = tmp_path / "runs.csv"
    args = import_args(mlflow_server, "sweep-csv", "--loss", "val_loss", "--map", MAP)

    code, out, err = run_cli(capsys, *args, "-o", str(target), "--json")
    assert code == 0, err
    assert json.loads(out) | {"skipped": []} == {
        "runs": 6,
        "rows": 120,
        "skipped": [],
        "added": 120,
        "present": 0,
        "to": str(target),
    }
    with target.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 120 and {r["run"] for r in rows} == set(ids.values())
    first = min((r for r in rows if r["run"] == ids["n2e+07"]), key=lambda r: int(r["step"]))
    assert (first["step"], float(first["params"]), float(first["data"])) == ("1", 2e7, 2e8)

    before = target.read_bytes()
    code, out, _ = run_cli(capsys, *args, "-o", str(target))
    assert code == 0 and "0 added" in out and "120 already there" in out
    assert target.read_bytes() == before

    # the run goes on: one more step is one more row
    MlflowClient(mlflow_server).log_metric(ids["n1e+08"], "val_loss", 2.2, step=21)
    code, out, _ = run_cli(capsys, *args, "-o", str(target), "--json")
    assert code == 0 and json.loads(out)["added"] == 1
    with target.open() as f:
        assert len(list(csv.DictReader(f))) == 121

    fit = tmp_path / "fit.nc"
    code, _, err = run_cli(
        capsys,
        "fit",
        str(target),
        "--group-col",
        "group",
        "--draws",
        "50",
        "--tune",
        "50",
        "--chains",
        "2",
        "-o",
        str(fit),
        "--quiet",
    )
    assert code == 0, err
    code, out, err = run_cli(capsys, "plan", str(fit), "--budget", "1e21", "--json")
    assert code == 0, err
    assert json.loads(out)["budgets"][0]["params"]["median"] > 0


def test_import_into_a_live_service_twice_stores_each_step_once(
    mlflow_server, tmp_path, capsys, mock_sampler
):
    log_sweep(mlflow_server, "sweep-remote")
    with live_server(Settings(data_dir=tmp_path / "data", workers=0)) as live:
        args = (
            *import_args(mlflow_server, "sweep-remote", "--loss", "val_loss", "--map", MAP),
            "--remote",
            "sweep",
            "--url",
            live.url,
            "--key",
            live.keys.write,
            "--project",
            "alpha",
        )
        code, out, err = run_cli(capsys, *args, "--json")
        assert code == 0, err
        assert json.loads(out)["added"] == 120
        code, out, _ = run_cli(capsys, *args)
        assert code == 0 and "0 added to dataset sweep, 120 already there" in out
        with Client(live.url, live.keys.write, "alpha") as client:
            assert client.get_dataset("sweep").observations == 120
            fit = client.fit("sweep", sampler={"draws": 50, "tune": 50, "chains": 2}).wait(120)
            plan = client.plan(fit, budgets=[1e21])
        assert plan.budgets[0]["params"]["median"] > 0


def test_bad_input_exits_2_naming_it_and_runs_without_a_parameter_are_skipped(
    mlflow_server, tmp_path, capsys
):
    log_sweep(mlflow_server, "sweep-bad", sizes=SIZES[:2])
    target = tmp_path / "runs.csv"
    base = ("--loss", "val_loss", "--map", MAP, "-o", str(target))

    code, _, err = run_cli(capsys, *import_args(mlflow_server, "no-such-sweep", *base))
    assert code == 2 and "no MLflow experiment 'no-such-sweep'" in err and "sweep-bad" in err
    code, _, err = run_cli(
        capsys, *import_args(mlflow_server, "sweep-bad", "--loss", "val_los", "-o", str(target))
    )
    assert code == 2 and "metric 'val_los'" in err and "val_loss" in err
    code, _, err = run_cli(
        capsys,
        *import_args(mlflow_server, "sweep-bad", "--loss", "val_loss", "--map", "params=nparams"),
        "-o",
        str(target),
    )
    assert code == 2 and "'nparams'" in err and "n_params" in err
    assert not target.exists()  # nothing written by a failed import

    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("sweep-bad").experiment_id
    orphan = client.create_run(experiment, run_name="no-size").info.run_id
    client.log_metric(orphan, "val_loss", 3.0, step=1)
    code, out, err = run_cli(capsys, *import_args(mlflow_server, "sweep-bad", *base))
    assert code == 0 and "40 rows from 2 runs" in out
    assert f"skipped run no-size ({orphan}): no parameter 'n_params' (for params)" in err
