"""``bayescale remote``: upload, fit, wait, predict against a live server on loopback."""

from __future__ import annotations

import csv
import json

import pytest

from cli.main import main
from service.config import Settings
from tests.client.conftest import live_server
from tests.utils import example_rows, replace_sampler


@pytest.fixture
def server(tmp_path, mock_sampler, monkeypatch):
    """A live server; the remote commands find it through the environment."""
    with live_server(Settings(data_dir=tmp_path / "data", workers=0)) as live:
        monkeypatch.setenv("BAYESCALE_URL", live.url)
        monkeypatch.setenv("BAYESCALE_API_KEY", live.keys.write)
        monkeypatch.setenv("BAYESCALE_PROJECT", "alpha")
        yield live


@pytest.fixture
def runs_csv(tmp_path):
    path = tmp_path / "runs.csv"
    rows = example_rows(8)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


SMALL = ("--family", "chinchilla", "--draws", "40", "--tune", "10", "--chains", "2")


def test_upload_fit_wait_predict(server, runs_csv, capsys):
    code, out, _ = run(capsys, "remote", "upload", "runs", str(runs_csv), "--json")
    assert code == 0 and json.loads(out)["rows"] == 32
    code, out, _ = run(capsys, "remote", "upload", "runs", str(runs_csv))
    assert code == 0 and "already uploaded" in out  # the same file twice stores once
    code, out, _ = run(capsys, "remote", "datasets")
    assert code == 0 and "runs" in out and "32 runs" in out

    code, out, err = run(capsys, "remote", "fit", "runs", *SMALL, "--wait")
    assert code == 0, err
    assert "succeeded" in err and "[" in err  # the status line on stderr
    assert "parameter" in out and "alpha" in out and "chinchilla, 32 runs" in out

    code, out, _ = run(capsys, "remote", "fit", "runs", *SMALL, "--name", "second", "--json")
    queued = json.loads(out)
    assert code == 0 and queued["status"] == "queued" and queued["name"] == "second"
    code, out, _ = run(capsys, "remote", "wait", queued["id"], "--json", "--quiet")
    assert code == 0 and json.loads(out)["status"] == "succeeded"

    code, out, _ = run(capsys, "remote", "fits", "--json")
    assert code == 0 and [f["name"] for f in json.loads(out)] == ["second", ""]
    code, out, _ = run(
        capsys, "remote", "predict", queued["id"], "--at", "params=1e8,data=2e9", "--group", "mamba"
    )
    assert code == 0 and "group mamba" in out and "90%" in out
    code, out, _ = run(
        capsys, "remote", "predict", queued["id"], "--at", "params=7e9,data=1.4e11", "--json"
    )
    assert code == 0 and json.loads(out)["population"] is True
    peak = ("remote", "peak", queued["id"], "--axis", "params", "--at", "data=2e9")
    code, out, _ = run(capsys, *peak)
    assert code == 0 and "peak of the loss along params" in out
    code, out, _ = run(capsys, *peak, "--json")
    answer = json.loads(out)
    assert code == 0 and answer["fit_id"] == queued["id"] and 0 <= answer["probability"] <= 1


def test_backtest_through_remote_fit(server, runs_csv, capsys):
    run(capsys, "remote", "upload", "runs", str(runs_csv))
    code, out, err = run(
        capsys, "remote", "fit", "runs", *SMALL, "--below", "params=3e8", "--wait", "--json"
    )
    assert code == 0, err
    scores = json.loads(out)["backtest"]
    assert scores["n_train"] + scores["n_test"] == 32


def test_max_draws_none_is_sent_as_null(server, runs_csv, capsys):
    run(capsys, "remote", "upload", "runs", str(runs_csv))
    # prior draws at 2 x 40 miss the ESS mark: the server's default samples them longer
    code, out, err = run(capsys, "remote", "fit", "runs", *SMALL, "--wait", "--json")
    assert code == 0, err
    assert json.loads(out)["diagnostics"]["draws"] > 40
    code, out, err = run(
        capsys, "remote", "fit", "runs", *SMALL, "--max-draws", "none", "--wait", "--json"
    )
    assert code == 0, err
    diagnostics = json.loads(out)["diagnostics"]
    assert diagnostics["draws"] == 40 and diagnostics["extension"] is None


def test_tree_depths_are_sent_and_none_as_null(server, runs_csv, capsys):
    run(capsys, "remote", "upload", "runs", str(runs_csv))
    code, out, err = run(
        capsys, "remote", "fit", "runs", *SMALL, "--max-draws", "none",
        "--max-tree-depth", "7", "--deeper-tree-depth", "none", "--centring", "non_centred",
        "--no-non-centred-rerun", "--wait", "--json",
    )  # fmt: skip
    assert code == 0, err
    sampler = json.loads(out)["spec"]["settings"]
    assert sampler["max_tree_depth"] == 7 and sampler["deeper_tree_depth"] is None
    assert sampler["centring"] == "non_centred" and sampler["non_centred_rerun"] is False
    code, _, err = run(capsys, "remote", "fit", "runs", "--max-tree-depth", "16")
    assert code == 2 and "sampler.max_tree_depth" in err


def test_server_errors_are_one_line_exit_2(server, capsys):
    code, out, err = run(capsys, "remote", "predict", "nope", "--at", "params=1e8")
    assert code == 2 and out == "" and err.startswith("error: 404") and err.count("\n") == 1
    code, _, err = run(capsys, "remote", "fit", "runs", "--draws", "1")
    assert code == 2 and "sampler.draws" in err
    code, _, err = run(capsys, "remote", "predict", "x", "--at", "params")
    assert code == 2 and "expected KEY=VALUE" in err


def test_failed_fit_exits_1(server, runs_csv, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("sampler exploded")

    replace_sampler(monkeypatch, broken)
    run(capsys, "remote", "upload", "runs", str(runs_csv))
    code, _, err = run(capsys, "remote", "fit", "runs", *SMALL, "--wait", "--quiet")
    assert code == 1 and "sampler exploded" in err


def test_upload_reads_columns_of_other_names(server, tmp_path, capsys):
    """``bayescale example``'s CSV: architecture is the group, read so by --group-col."""
    path = tmp_path / "example.csv"
    assert run(capsys, "example", str(path))[0] == 0
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(path.read_text().replace("loss", "final_loss", 1))
    upload = ("remote", "upload", "runs", str(renamed), "--map", "loss=final_loss", "--json")
    code, out, _ = run(capsys, *upload, "--group-col", "architecture")
    assert code == 0 and json.loads(out)["rows"] == 100
    client = server.client()
    try:
        rows = list(client.iter_observations("runs"))
    finally:
        client.close()
    assert len({r.group for r in rows}) == 4 and rows[0].loss > 0
    # the same file under another mapping is other rows, not a replay of the first upload
    code, out, _ = run(capsys, *upload)
    assert code == 0 and json.loads(out)["replayed"] is False
    code, _, err = run(capsys, "remote", "upload", "runs", str(renamed), "--group-col", "arch")
    assert code == 2 and "'arch' (group_col) is not in the CSV header" in err
