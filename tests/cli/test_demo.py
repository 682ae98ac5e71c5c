"""``bayescale demo`` ends on how big to train, what a target costs and what to run next."""

from __future__ import annotations

import json
import shlex

import pandas as pd

from cli.main import _heavy_tail_note, main

SMALL = ("--draws", "100", "--tune", "50", "--chains", "2", "--quiet")


def test_demo_answers_how_big_to_train_and_points_to_the_commands(
    tmp_path, capsys, mock_sampler, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--dir", "demo", *SMALL]) == 0
    out = capsys.readouterr().out
    answers = out[out.index("4. how big to train") :].splitlines()[1:]
    said = [
        line.strip() for line in answers if line.strip() and not line.strip().startswith("from:")
    ]
    assert len(said) == 3
    assert said[0].startswith("at 1e+22 FLOPs train N* =") and "[90%:" in said[0]
    assert "D* =" in said[0] and "-> loss" in said[0]
    assert "with 90% probability" in said[1]
    assert said[2].startswith("next experiment worth running: params=")
    # each answer points to the command that gives it, and that command runs as printed
    commands = [line.strip().removeprefix("from: ") for line in answers if "from:" in line]
    assert [c.split()[1] for c in commands] == ["plan", "plan", "suggest"]
    for command, line in zip(commands, said, strict=True):
        code = main(shlex.split(command)[1:])
        assert code == (2 if "not reachable" in line else 0), command
    capsys.readouterr()

    assert main(["demo", "--dir", "demo-json", *SMALL, "--json"]) == 0
    decisions = json.loads(capsys.readouterr().out)["decisions"]
    assert decisions["group"] == "transformer" and decisions["budget"] == 1e22
    assert decisions["compute_optimal"]["params"]["median"] > 0
    assert decisions["next_experiment"]["rank"] == 1


def test_parameter_table_shows_medians_and_says_why_not_means_when_heavy_tailed(capsys):
    table = pd.DataFrame(
        {
            "parameter": ["E", "A"],
            "group": [float("nan"), float("nan")],
            "kind": ["population", "population"],
            "mean": [1.8, 8339.0],
            "sd": [0.3, 2.4e5],
            "median": [1.78, 405.0],
        }
    )
    note = _heavy_tail_note(table)
    assert note.startswith("note: A (population) is heavy-tailed") and "median 405" in note
    assert _heavy_tail_note(table.iloc[:1]) == ""
