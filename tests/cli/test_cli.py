import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import models
from cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_families_json_lists_every_family(capsys):
    code, out, _ = run(capsys, "families", "--json")
    families = json.loads(out)
    assert code == 0 and {f["name"] for f in families} == set(models.REGISTRY)
    chin = next(f for f in families if f["name"] == "chinchilla")
    assert chin["inputs"] == ["params", "data"] and chin["formula"].startswith("L = E")
    assert {p["name"] for p in chin["parameters"]} == {"E", "A", "B", "alpha", "beta"}


def test_families_text(capsys):
    code, out, _ = run(capsys, "families")
    assert code == 0 and "chinchilla: L = E + A * N^(-alpha)" in out and "citation:" in out


def test_example_writes_four_architectures(example_csv):
    import pandas as pd

    frame = pd.read_csv(example_csv)
    assert len(frame) == 100 and frame["architecture"].nunique() == 4
    assert {"params", "data", "loss"} <= set(frame.columns)


def test_fit_predict_summary_round_trip(capsys, tmp_path, example_csv, mock_sampler):
    fit_path = tmp_path / "fit.nc"
    code, out, _ = run(
        capsys,
        "fit",
        str(example_csv),
        "--group-col",
        "architecture",
        "--draws",
        "40",
        "--tune",
        "10",
        "--chains",
        "2",
        "-o",
        str(fit_path),
        "--json",
        "--quiet",
    )
    assert code == 0 and fit_path.exists()
    payload = json.loads(out)
    assert payload["groups"] == ["mamba", "rwkv", "transformer", "transformer-moe"]
    assert "converged" in payload["diagnostics"]

    code, out, _ = run(capsys, "predict", str(fit_path), "--at", "params=7e9,data=1.4e11", "--json")
    pred = json.loads(out)
    assert code == 0 and pred["population"] is True
    row = pred["predictions"][0]
    assert row["region"] == "extrapolation" and set(row["new_run_interval"]) == {"50", "90"}

    code, out, _ = run(
        capsys,
        "predict",
        str(fit_path),
        "--at",
        "params=1e8,data=2e9",
        "--group",
        "mamba",
        "--prob",
        "0.8",
    )
    assert code == 0 and "group mamba" in out and "80%" in out

    at = ("--at", "params=7e9,data=1.4e11", "--group", "mamba2")
    code, _, err = run(capsys, "predict", str(fit_path), *at)
    assert code == 2 and "unknown group 'mamba2'" in err
    code, out, _ = run(capsys, "predict", str(fit_path), *at, "--new-group")
    assert code == 0 and "new group drawn from the population" in out

    code, out, _ = run(capsys, "summary", str(fit_path))
    assert code == 0 and "diagnostics:" in out and "population" in out


def test_fit_with_mapping_priors_and_pooling(capsys, tmp_path, example_csv, mock_sampler):
    import pandas as pd

    renamed = tmp_path / "renamed.csv"
    pd.read_csv(example_csv).rename(columns={"loss": "final_loss", "params": "n"}).to_csv(
        renamed, index=False
    )
    priors = tmp_path / "priors.json"
    priors.write_text(json.dumps({"B": {"dist": "LogNormal", "kwargs": {"mu": 0.0, "sigma": 1.0}}}))
    code, out, err = run(
        capsys,
        "fit",
        str(renamed),
        "--family",
        "chinchilla",
        "--map",
        "loss=final_loss,params=n",
        "--group-col",
        "architecture",
        "--pooling",
        "B=independent",
        "--priors",
        str(priors),
        "--draws",
        "30",
        "--chains",
        "2",
        "-o",
        str(tmp_path / "f.nc"),
        "--json",
        "--quiet",
    )
    assert code == 0, err
    config = json.loads(out)["config"]
    assert config["pooling"]["B"] == "independent"
    assert config["priors"]["B"] == {"dist": "LogNormal", "kwargs": {"mu": 0.0, "sigma": 1.0}}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "missing.csv", "-o", "x.nc"], "cannot read missing.csv"),
        (["fit", "{csv}", "--family", "nope", "-o", "x.nc"], "unknown family 'nope'"),
        (["fit", "{csv}", "--map", "loss", "-o", "x.nc"], "expected KEY=VALUE"),
        (["fit", "{csv}", "--map", "loss=nothere", "-o", "x.nc"], "column 'nothere'"),
        (["fit", "{csv}", "--priors", "{bad_json}", "-o", "x.nc"], "not valid JSON"),
        (
            [
                "fit",
                "{csv}",
                "--family",
                "chinchilla",
                "--pooling",
                "alpha=sometimes",
                "-o",
                "x.nc",
            ],
            "pooling for 'alpha'",
        ),
        (["fit", "{csv}", "--draws", "0", "-o", "x.nc"], "draws must be at least 10"),
        (["predict", "{csv}", "--at", "params=1"], "not a bayescale fit file"),
        (["summary", "nope.nc"], "no such fit file"),
    ],
)
def test_errors_are_one_line_with_exit_2(
    capsys, tmp_path, example_csv, mock_sampler, argv, message
):
    """Bad input gets a one-line reason and a non-zero exit, never a traceback."""
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    argv = [a.format(csv=example_csv, bad_json=bad_json) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_predict_needs_points(capsys, tmp_path, example_csv, mock_sampler):
    fit_path = tmp_path / "fit.nc"
    assert (
        main(
            [
                "fit",
                str(example_csv),
                "--draws",
                "20",
                "--chains",
                "2",
                "-o",
                str(fit_path),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, _, err = run(capsys, "predict", str(fit_path))
    assert code == 2 and "--at" in err
    # a points file saved by a spreadsheet with semicolons reads as the comma one
    (tmp_path / "points.csv").write_text("params;data\n1e9;2e10\n")
    code, out, err = run(capsys, "predict", str(fit_path), "--points", str(tmp_path / "points.csv"))
    assert code == 0, err
    assert "params=1e+09" in out


def test_console_script_help():
    """The installed entry point works and explains itself to a newcomer."""
    exe = shutil.which("bayescale")
    if exe is None:
        pytest.skip("console script not on PATH (run via 'uv run pytest')")
    result = subprocess.run(
        [exe, "--help"], capture_output=True, text=True, check=True, timeout=120
    )
    assert "bayescale demo" in result.stdout and "fit" in result.stdout


@pytest.mark.parametrize(("max_draws", "draws"), [("none", 60), ("120", 120)])
def test_max_draws_bounds_the_longer_run(
    capsys, tmp_path, example_csv, mock_sampler, max_draws, draws
):
    # prior draws at 2 x 60 miss the ESS mark (200): sampled again with up to 4x the draws
    code, out, err = run(
        capsys, "fit", str(example_csv), "--family", "chinchilla", "--draws", "60",
        "--chains", "2", "--max-draws", max_draws,
        "-o", str(tmp_path / "f.nc"), "--json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    diagnostics = json.loads(out)["diagnostics"]
    assert diagnostics["draws"] == draws
    assert (diagnostics["extension"] is None) == (max_draws == "none")


def test_tree_depths_reach_the_fit(capsys, tmp_path, example_csv, mock_sampler):
    out_file = tmp_path / "f.nc"
    code, _, err = run(
        capsys, "fit", str(example_csv), "--family", "chinchilla", "--draws", "60",
        "--chains", "2", "--max-tree-depth", "8", "--deeper-tree-depth", "none",
        "--max-draws", "none", "-o", str(out_file), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    settings = models.load_fit(out_file).settings
    assert settings.max_tree_depth == 8 and settings.deeper_tree_depth is None


def test_centring_options_reach_the_fit(capsys, tmp_path, example_csv, mock_sampler):
    out_file = tmp_path / "f.nc"
    code, _, err = run(
        capsys, "fit", str(example_csv), "--family", "chinchilla", "--draws", "60",
        "--chains", "2", "--centring", "non_centred", "--no-non-centred-rerun",
        "-o", str(out_file), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    settings = models.load_fit(out_file).settings
    assert settings.centring == "non_centred" and settings.non_centred_rerun is False
    with pytest.raises(SystemExit) as exited:  # argparse's own check of the choices
        run(capsys, "fit", str(example_csv), "--centring", "centred")
    assert exited.value.code == 2 and "--centring" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"), [("--max-tree-depth", "16"), ("--deeper-tree-depth", "0")]
)
def test_a_tree_depth_out_of_range_names_the_option(capsys, tmp_path, example_csv, option, value):
    code, _, err = run(capsys, "fit", str(example_csv), option, value, "-o", str(tmp_path / "f.nc"))
    assert code == 2 and option[2:].replace("-", "_") in err


def test_max_draws_below_the_minimum_names_the_option(capsys, tmp_path, example_csv):
    code, _, err = run(
        capsys, "fit", str(example_csv), "--max-draws", "5", "-o", str(tmp_path / "f.nc")
    )
    assert code == 2 and "max_draws" in err


def test_stacking_report_prints_each_weight_with_its_interval(capsys) -> None:
    from cli.main import _print_stacking

    def law(name: str, weight: float, span: list[float] | None) -> dict:
        c = {"family": name, "label": name, "weight": weight, "lfo_elpd": -3.0}
        c["discrepancy"] = {"tau_median": 0.05}
        if span is not None:  # reports stored before intervals existed have none
            c["weight_interval"] = span
        return c

    report = {"axis": "data", "cuts": [0.5, 0.8], "scored_rows": 40, "elapsed_s": 9.5}
    report["skipped"] = []
    report["candidates"] = [law("power_law", 0.3, [0.05, 0.71]), law("chinchilla", 0.7, None)]
    _print_stacking(report)
    out = capsys.readouterr().out
    assert "0.300  power_law" in out and "(90 % 0.05-0.71)" in out
    assert "Bayesian-bootstrap interval" in out
    old = {**report, "candidates": [law("chinchilla", 1.0, None)]}
    _print_stacking(old)
    out = capsys.readouterr().out
    assert "90 %" not in out and "1.000  chinchilla" in out


def test_a_column_the_fit_does_not_read_is_named_with_the_option_that_reads_it(
    capsys, tmp_path, mock_sampler
):
    params = np.repeat(np.geomspace(1e7, 1e9, 6), 2)
    context = np.tile([128.0, 4096.0], 6)
    path = tmp_path / "runs.csv"
    pd.DataFrame(
        {"params": params, "context": context, "loss": 2 + 9 * params**-0.1 + 30 / context}
    ).to_csv(path, index=False)
    args = ("--family", "power_law", "--family-option", "x=params", "--draws", "40")
    code, out, _ = run(
        capsys, "fit", str(path), *args, "--tune", "10", "-o", str(tmp_path / "f.nc")
    )
    assert code == 0
    assert "warning [unused_columns]: column(s) 'context' take different values" in out
    assert out.count("--map INPUT=COLUMN") == 1


def test_a_training_log_is_named_before_the_fit_starts(capsys, tmp_path, mock_sampler):
    """Without a run column a log's rows are independent runs: said up front, and what to do."""
    path = tmp_path / "log.csv"
    steps = np.arange(1, 401) * 100
    path.write_text("step,loss\n" + "".join(f"{s},{2 + 5 * s**-0.3}\n" for s in steps))
    args = ("--map", "steps=step", "--family", "power_law", "--family-option", "x=steps")
    small = ("--draws", "40", "--tune", "10", "-o", str(tmp_path / "f.nc"))
    code, out, err = run(capsys, "fit", str(path), *args, *small)
    assert code == 0
    assert err.startswith("note: 400 rows look like checkpoints") and "--run-col" in err
    assert "warning [checkpoints_without_run]" in out and out.count("--max-per-run K") == 1
    # with the run named: thinned, no note, no warning
    path.write_text("step,loss,run\n" + "".join(f"{s},{2 + 5 * s**-0.3},r\n" for s in steps))
    code, out, err = run(capsys, "fit", str(path), *args, "--run-col", "run", *small)
    assert code == 0 and "note:" not in err and "checkpoints_without_run" not in out


def test_a_group_column_not_named_is_named_with_the_options_that_read_it(
    capsys, tmp_path, mock_sampler
):
    path = tmp_path / "example.csv"
    assert run(capsys, "example", str(path))[0] == 0
    args = ("--family", "chinchilla", "--draws", "40", "--tune", "10")
    code, out, _ = run(capsys, "fit", str(path), *args, "-o", str(tmp_path / "f.nc"))
    assert code == 0
    assert "warning [pooled_curves]: column(s) 'architecture' split the rows" in out
    assert out.count("--group-col COLUMN gives each curve") == 1
    code, out, _ = run(
        capsys, "fit", str(path), *args, "--group-col", "architecture", "-o", str(tmp_path / "g.nc")
    )
    assert code == 0 and "pooled_curves" not in out
