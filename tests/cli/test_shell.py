"""Top-level help, shell completion, --json on every command that prints results."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess

import pytest

from cli.main import _parser, main

# commands that print no results (long-running processes, a status line, a script) or whose
# results are files (bench writes JSON to --out, plot an image)
NO_RESULTS = {"serve", "worker", "migrate", "completion", "bench", "plot"}


def leaf_commands(parser: argparse.ArgumentParser, path: str = ""):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from leaf_commands(child, f"{path} {name}".strip())


def test_every_command_that_prints_results_takes_json():
    """Scripts can rely on --json: a command without it is listed here by name."""
    missing = [
        path
        for path, parser in leaf_commands(_parser())
        if path.split()[0] not in NO_RESULTS
        and "--json" not in {s for a in parser._actions for s in a.option_strings}
    ]
    assert missing == []


def test_help_groups_every_command_and_shows_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    assert "fit and predict on this machine:" in out and "a shared server:" in out
    assert "examples:" in out and "bayescale demo" in out
    commands = {path.split()[0] for path, _ in leaf_commands(_parser())}
    for name in commands:
        assert f"\n  {name} " in out, name
    assert "{" not in out.split("examples:")[0]  # no raw argparse choice list


def completions(script: str, *words: str) -> list[str]:
    """What the generated bash function offers after ``bayescale words...``."""
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    line = " ".join(["bayescale", *words])
    program = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n"
        '[[ "{tail}" == " " ]] && { COMP_WORDS+=(""); COMP_CWORD=${#COMP_WORDS[@]}-1; }\n'
        "_bayescale; printf '%s\\n' \"${COMPREPLY[@]}\""
    ).replace("{tail}", " " if words and words[-1] == "" else "")
    result = subprocess.run(
        ["bash", "-c", program], capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.split()


@pytest.fixture(scope="module")
def bash_script():
    from cli.completion import completion_script

    return completion_script(_parser(), "bash")


def test_bash_completes_commands_options_and_choices(bash_script):
    assert {"fit", "families"} <= set(completions(bash_script, "f"))
    assert set(completions(bash_script, "admin", "create")) == {"create-project", "create-key"}
    assert completions(bash_script, "fit", "runs.csv", "--lik") == ["--likelihood"]
    assert completions(bash_script, "fit", "runs.csv", "--likelihood", "s") == ["student_t"]
    assert set(completions(bash_script, "remote", "w")) == {"wait"}
    assert "--url" in completions(bash_script, "remote", "fit", "--u")
    assert completions(bash_script, "completion", "z") == ["zsh"]


def test_completion_command_prints_scripts(capsys):
    assert main(["completion", "bash"]) == 0
    bash = capsys.readouterr().out
    assert "complete -o default -F _bayescale bayescale" in bash and "bashcompinit" not in bash
    assert main(["completion", "zsh"]) == 0
    zsh = capsys.readouterr().out
    assert "bashcompinit" in zsh and "complete -o default -F _bayescale bayescale" in zsh
    subprocess.run(["bash", "-n", "-c", bash], check=True, timeout=30)  # valid syntax


def test_example_json(tmp_path, capsys):
    assert main(["example", str(tmp_path / "runs.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == 100 and len(out["groups"]) == 4


def test_admin_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BAYESCALE_DATA_DIR", str(tmp_path))
    from service.config import get_settings

    get_settings.cache_clear()
    try:
        assert main(["admin", "create-project", "vision", "--json"]) == 0
        made = json.loads(capsys.readouterr().out)
        assert made["project"] == "vision" and made["key"].startswith("bsk_")
        assert main(["admin", "create-key", "vision", "--role", "write", "--json"]) == 0
        key = json.loads(capsys.readouterr().out)
        assert key["role"] == "write" and key["key"].startswith("bsk_")
        prefix = key["key"].split("_")[1]
        assert main(["admin", "revoke-key", "vision", prefix, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"project": "vision", "revoked": prefix}
    finally:
        get_settings.cache_clear()


def test_local_fit_draws_a_progress_bar_on_a_terminal(
    tmp_path, example_csv, mock_sampler, capsys, monkeypatch
):
    """On a terminal `bayescale fit` shows sampling progress on stderr, results on stdout."""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    out_path = tmp_path / "fit.nc"
    argv = ["fit", str(example_csv), "--draws", "20", "--chains", "2", "-o", str(out_path)]
    assert main([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    assert "sampling [" in err and "50.0%" in err and "100.0%" in err
    assert json.loads(out)["fit_file"] == str(out_path)
