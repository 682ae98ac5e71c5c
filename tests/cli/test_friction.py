"""Rough edges a new user met: a pipe closed early, a misspelt input."""

from __future__ import annotations

import subprocess
import sys

from cli.main import main


def test_output_into_a_closed_pipe_ends_quietly_with_exit_0():
    """`bayescale families --json | head -1`: the reader leaves before the output is written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "families", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the interpreter has even started: every write fails
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(120) == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err and err == ""


def test_a_misspelt_input_is_named(capsys, tmp_path, example_csv, mock_sampler):
    fit_path = tmp_path / "fit.nc"
    argv = ["fit", str(example_csv), "--draws", "20", "--chains", "2", "-o", str(fit_path)]
    assert main([*argv, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", str(fit_path), "--at", "parms=7e9,data=1.4e11"]) == 2
    err = capsys.readouterr().err
    assert "unknown input(s) 'parms'" in err and "needs params, data" in err


def test_serve_takes_its_port_from_the_environment_and_names_a_bad_one(monkeypatch, capsys):
    import pytest

    from cli.main import _parser as build_parser

    monkeypatch.setenv("BAYESCALE_PORT", "8123")
    monkeypatch.setenv("BAYESCALE_HOST", "0.0.0.0")
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("0.0.0.0", 8123)
    assert build_parser().parse_args(["serve", "--port", "9000"]).port == 9000
    monkeypatch.setenv("BAYESCALE_PORT", "80000")
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["serve"])
    assert exit_.value.code == 2 and "BAYESCALE_PORT" in capsys.readouterr().err
