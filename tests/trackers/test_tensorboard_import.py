"""``bayescale import tensorboard`` on event files written by TensorBoard's own writer."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams
from tensorboard.summary import Writer
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from cli.main import main
from service.client import Client
from service.config import Settings
from tests.client.conftest import live_server
from trackers import tensorboard_rows

SIZES = (2e7, 5e7, 1e8, 2e8, 4e8, 8e8)
TOKENS_PER_STEP = 2e8
MAP = f"params=n_params,data=step*{TOKENS_PER_STEP:g},group=arch"


def write_run(directory: Path, n: float | None, steps, rng) -> None:
    """What a training script leaves: its hyperparameters and a val_loss scalar per step."""
    if n is not None:
        summary = hparams.hparams_pb({"n_params": n, "arch": "dense"}, start_time_secs=0)
        events = EventFileWriter(str(directory))
        events.add_event(event_pb2.Event(summary=summary, wall_time=time.time()))
        events.close()
    writer = Writer(str(directory))
    for s in steps:
        size = n or 1e8
        loss = 1.7 + 406 / size**0.34 + 411 / (s * TOKENS_PER_STEP) ** 0.28 + rng.normal(0, 0.01)
        writer.add_scalar("val_loss", loss, step=s)
        writer.add_scalar("lr", 3e-4, step=s)
    writer.close()


def write_sweep(logdir: Path) -> None:
    rng = np.random.default_rng(0)
    for n in SIZES:
        write_run(logdir / f"n{n:.0e}", n, range(1, 21), rng)


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_event_files_to_csv_then_fit_and_plan_and_reimport_adds_only_new_steps(
    tmp_path, capsys, mock_sampler
):
    logdir = tmp_path / "logs"
    write_sweep(logdir)
    target = tmp_path / "runs.csv"
    args = ("import", "tensorboard", str(logdir), "--loss", "val_loss", "--map", MAP)

    code, out, err = run_cli(capsys, *args, "-o", str(target), "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["runs"], answer["rows"], answer["added"]) == (6, 120, 120)
    with target.open() as f:
        rows = list(csv.DictReader(f))
    assert {r["run"] for r in rows} == {f"n{n:.0e}" for n in SIZES}
    first = next(r for r in rows if r["run"] == "n2e+07" and r["step"] == "1")
    assert (float(first["params"]), float(first["data"]), first["group"]) == (2e7, 2e8, "dense")

    code, out, _ = run_cli(capsys, *args, "-o", str(target))
    assert code == 0 and "0 added" in out and "120 already there" in out

    # a resumed run writes a new event file in its directory: its new step is one new row
    write_run(logdir / "n1e+08", None, [21], np.random.default_rng(1))
    code, out, _ = run_cli(capsys, *args, "-o", str(target), "--json")
    assert code == 0 and json.loads(out)["added"] == 1

    fit = tmp_path / "fit.nc"
    small = ("--draws", "50", "--tune", "50", "--chains", "2", "--quiet")
    code, _, err = run_cli(
        capsys, "fit", str(target), "--group-col", "group", *small, "-o", str(fit)
    )
    assert code == 0, err
    code, out, err = run_cli(capsys, "plan", str(fit), "--budget", "1e21", "--json")
    assert code == 0, err
    assert json.loads(out)["budgets"][0]["params"]["median"] > 0


def test_event_files_into_a_live_service_twice_store_each_step_once(tmp_path, capsys, mock_sampler):
    logdir = tmp_path / "logs"
    write_sweep(logdir)
    with live_server(Settings(data_dir=tmp_path / "data", workers=0)) as live:
        args = (
            *("import", "tensorboard", str(logdir), "--loss", "val_loss", "--map", MAP),
            *("--remote", "sweep", "--url", live.url, "--key", live.keys.write),
            *("--project", "alpha"),
        )
        code, out, err = run_cli(capsys, *args)
        assert code == 0 and "120 added to dataset sweep" in out, err
        code, out, _ = run_cli(capsys, *args)
        assert code == 0 and "0 added to dataset sweep, 120 already there" in out
        with Client(live.url, live.keys.write, "alpha") as client:
            assert client.get_dataset("sweep").observations == 120
            # the same rows from Python: the client method the CLI uses
            result = tensorboard_rows(logdir, "val_loss", {"params": "n_params", "steps": "step"})
            assert client.import_rows("sweep", result.rows) == (0, 120)  # same (run, step)
            stored = {o.meta["run"] for o in client.iter_observations("sweep")}
    assert stored == {f"n{n:.0e}" for n in SIZES}


def test_unknown_scalar_or_hparam_exits_2_and_a_run_without_hparams_is_skipped(tmp_path, capsys):
    logdir = tmp_path / "logs"
    write_sweep(logdir)
    target = tmp_path / "runs.csv"

    def import_to_target(*options):
        return run_cli(capsys, "import", "tensorboard", str(logdir), *options, "-o", str(target))

    code, _, err = import_to_target("--loss", "val_los")
    assert code == 2 and "metric 'val_los'" in err and "val_loss" in err
    code, _, err = import_to_target("--loss", "val_loss", "--map", "params=size")
    assert code == 2 and "params: no run" in err and "'size'" in err and "n_params" in err
    code, _, err = run_cli(
        capsys, "import", "tensorboard", str(tmp_path / "nowhere"), "--loss", "x", "-o", "y.csv"
    )
    assert code == 2 and "not a directory" in err
    assert not target.exists()

    write_run(logdir / "untagged", None, range(1, 4), np.random.default_rng(2))
    code, out, err = import_to_target("--loss", "val_loss", "--map", MAP)
    assert code == 0 and "120 rows from 6 runs" in out
    assert "skipped run untagged (untagged): no parameter 'n_params' (for params)" in err
