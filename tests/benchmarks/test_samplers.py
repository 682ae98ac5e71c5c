"""``python -m benchmarks samplers``: rows for samplers that cannot run, and the table."""

from __future__ import annotations

import subprocess

import pytest

from benchmarks import samplers


def test_a_sampler_whose_packages_are_missing_is_a_row_saying_so(monkeypatch) -> None:
    monkeypatch.setitem(samplers.NEEDS, "numpyro", ("no_such_package_bayescale",))

    def refuse(*args, **kwargs):
        raise AssertionError("no interpreter is started for a sampler that cannot run")

    monkeypatch.setattr(subprocess, "run", refuse)
    rows = samplers.measure("numpyro", "pm", "numpyro", 2)
    assert rows == [
        {"sampler": "numpyro", "error": "not installed: no_such_package_bayescale (extra 'jax')"}
    ]


def test_a_child_that_fails_is_a_row_with_its_last_error_line(monkeypatch) -> None:
    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="Traceback\nTypeError: nope\n")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: failed)
    assert samplers.measure("pymc", "pm", "pymc", 2) == [
        {"sampler": "pymc", "error": "TypeError: nope"}
    ]


def _run(sampler: str, call: int, wall: float) -> dict:
    return {
        "sampler": sampler,
        "call": call,
        "wall_s": wall,
        "ess_bulk_min": 800.0,
        "r_hat_max": 1.004,
        "divergences": 0,
        "mean_leapfrog_steps": 140.0,
    }


def test_table_gives_each_call_relative_to_the_warm_bayescale_fit() -> None:
    rows = [
        _run("bayescale", 1, 12.0),
        _run("bayescale", 2, 4.0),
        _run("numpyro", 2, 22.0),
        {"sampler": "blackjax", "error": "not installed: blackjax (extra 'jax')"},
    ]
    lines = samplers.table(rows).splitlines()
    assert lines[2].startswith("| bayescale | 1 | 12.00 | 3.0 | 800 | 1.004 | 0 | 140 |")
    assert lines[3].startswith("| bayescale | 2 | 4.00 | 1.0 |")
    assert lines[4].startswith("| numpyro | 2 | 22.00 | 5.5 |")
    assert "not installed: blackjax" in lines[5]


@pytest.mark.parametrize("quick", [True, False])
def test_quick_runs_only_the_numba_samplers(quick) -> None:
    chosen = samplers.QUICK if quick else samplers.FULL
    labels = [row[0] for row in chosen]
    assert labels[:2] == ["bayescale", "nutpie (numba)"]
    assert (len(labels) == 2) == quick
