"""Rows from runs: the importers' rules, without any tracker library or server."""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import pytest

import models
from trackers import RunHistory, TrackerError, merge_csv, rows_from_runs
from trackers.rows import INPUTS, check_known, parse_mapping


def run(name, values, **metrics):
    return RunHistory(run=f"id-{name}", name=name, values=values, metrics=metrics)


LOSS = {1: 3.0, 2: 2.8, 3: 2.7}


def test_inputs_are_the_models_inputs():
    assert INPUTS == models.INPUTS


def test_one_row_per_logged_step_with_run_constants_and_step_inputs():
    sources = parse_mapping({"params": "n_params", "data": "step*1e6", "group": "arch"})
    result = rows_from_runs(
        [run("a", {"n_params": "1e8", "arch": "gpt"}, val_loss=LOSS)], "val_loss", sources
    )
    assert result.runs == 1 and not result.skipped
    assert result.rows == [
        {"run": "id-a", "step": s, "params": 1e8, "data": s * 1e6, "group": "gpt", "loss": v}
        for s, v in LOSS.items()
    ]


def test_a_metric_input_is_read_at_the_same_step_and_a_step_without_it_is_left_out():
    sources = parse_mapping({"params": "n_params", "data": "tokens"})
    tokens = {1: 1e6, 3: 3e6}  # step 2 lost
    result = rows_from_runs(
        [run("a", {"n_params": 5e7}, val_loss=LOSS, tokens=tokens)], "val_loss", sources
    )
    assert [(r["step"], r["data"]) for r in result.rows] == [(1, 1e6), (3, 3e6)]
    (skip,) = result.skipped
    assert skip.run == "id-a" and "1 of 3 steps left out" in skip.reason
    assert "step 2: 'tokens' (for data) not logged" in skip.reason


def test_a_run_missing_a_mapped_parameter_is_skipped_whole_with_its_reason():
    sources = parse_mapping({"params": "n_params", "steps": "step"})
    runs = [
        run("good", {"n_params": "1e8"}, val_loss=LOSS),
        run("nop", {"lr": "3e-4"}, val_loss=LOSS),
        run("bad", {"n_params": "large"}, val_loss=LOSS),
        run("noloss", {"n_params": "1e8"}, train_loss=LOSS),
    ]
    result = rows_from_runs(runs, "val_loss", sources)
    assert {r["run"] for r in result.rows} == {"id-good"} and result.runs == 1
    reasons = {s.name: s.reason for s in result.skipped}
    assert reasons["nop"] == "no parameter 'n_params' (for params)"
    assert "'large' (for params) is not a finite number" in reasons["bad"]
    assert reasons["noloss"] == "no metric 'val_loss'"
    # no partial row: every row has every mapped field
    assert all({"params", "steps", "loss"} <= set(r) for r in result.rows)


def test_values_out_of_the_service_ranges_are_left_out_never_sent():
    sources = parse_mapping({"params": "n_params", "steps": "step"})
    loss = {0: 4.0, 1: math.nan, 2: 2.5}  # step 0 is not a valid `steps`; a NaN loss
    result = rows_from_runs([run("a", {"n_params": 1e8}, val_loss=loss)], "val_loss", sources)
    assert [r["step"] for r in result.rows] == [2]
    assert "steps 0.0 must be > 0" in result.skipped[0].reason
    assert "loss nan is not a finite number" in result.skipped[0].reason


@pytest.mark.parametrize(
    ("mapping", "field", "text"),
    [
        ({"parms": "n"}, "parms", "unknown field 'parms'"),
        ({"loss": "val"}, "loss", "--loss"),
        ({"group": "step"}, "group", "step number"),
        ({"data": "step*-3"}, "data", "must be > 0"),
    ],
)
def test_bad_mappings_name_the_field(mapping, field, text):
    with pytest.raises(TrackerError, match=text) as err:
        parse_mapping(mapping)
    assert err.value.field == field


def test_names_no_run_has_are_errors_naming_them():
    runs = [run("a", {"n_params": 1}, val_loss=LOSS)]
    with pytest.raises(TrackerError, match="metric 'val_los'") as err:
        check_known(runs, "val_los", {}, "experiment 'x'")
    assert err.value.field == "loss" and "val_loss" in str(err.value)  # lists what exists
    with pytest.raises(TrackerError, match="'nparams'") as err:
        check_known(runs, "val_loss", parse_mapping({"params": "nparams"}), "experiment 'x'")
    assert err.value.field == "params"
    with pytest.raises(TrackerError, match="group") as err:
        check_known(runs, "val_loss", parse_mapping({"group": "val_loss"}), "experiment 'x'")


def test_csv_merge_adds_only_new_run_steps(tmp_path):
    path = tmp_path / "runs.csv"
    rows = [{"run": "a", "step": s, "params": 1e8, "loss": 3.0 - 0.1 * s} for s in (1, 2)]
    assert merge_csv(path, rows) == (2, 0)
    before = path.read_bytes()
    assert merge_csv(path, rows) == (0, 2) and path.read_bytes() == before
    assert merge_csv(path, [*rows, {"run": "a", "step": 3, "params": 1e8, "loss": 2.7}]) == (1, 2)
    with path.open() as f:
        stored = list(csv.DictReader(f))
    assert [(r["run"], r["step"], float(r["loss"])) for r in stored] == [
        ("a", "1", 2.9),
        ("a", "2", 2.8),
        ("a", "3", 2.7),
    ]
    assert list(stored[0]) == ["run", "step", "params", "loss"]


def test_csv_merge_refuses_a_file_that_is_not_an_import(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("params,loss\n1e8,3.0\n")
    with pytest.raises(TrackerError, match="not an import") as err:
        merge_csv(path, [{"run": "a", "step": 1, "loss": 2.0}])
    assert err.value.field == "output" and path.read_text() == "params,loss\n1e8,3.0\n"


def test_importing_trackers_loads_neither_the_modelling_stack_nor_a_tracker():
    """The readers load their tracker library only when they run; models is never loaded."""
    heavy = ("models", "pymc", "mlflow", "tensorboard", "fastapi", "sqlalchemy")
    code = f"import sys, trackers; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
