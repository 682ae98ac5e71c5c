"""``bayescale bench`` delegates to ``python -m benchmarks``; outside a checkout it says so."""

from __future__ import annotations

import argparse
import importlib

import pytest

import benchmarks.__main__ as bench_main
from cli import bench
from cli.main import main


def test_bench_passes_its_arguments_through(monkeypatch, tmp_path) -> None:
    seen: list[list[str]] = []

    def fake_main(argv):
        seen.append(argv)
        return 1  # a failed --check

    monkeypatch.setattr(bench_main, "main", fake_main)
    argv = ["bench", "speed", "memory", "--quick", "--check", "--data-dir", str(tmp_path)]
    assert main(argv) == 1
    assert seen == [["speed", "memory", "--quick", "--check", "--data-dir", str(tmp_path)]]
    assert main(["bench"]) == 1 and seen[-1] == []


def test_bench_outside_a_checkout_says_so(monkeypatch, capsys) -> None:
    real = importlib.import_module

    def no_benchmarks(name, *args):
        if name.startswith("benchmarks"):
            raise ModuleNotFoundError(f"No module named '{name}'", name="benchmarks")
        return real(name, *args)

    monkeypatch.setattr(bench.importlib, "import_module", no_benchmarks)
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 'bayescale bench' needs a source checkout")
    assert "uv run python -m benchmarks" in err


def test_a_missing_dependency_is_not_mistaken_for_no_checkout(monkeypatch) -> None:
    def broken(name, *args):
        raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")

    monkeypatch.setattr(bench.importlib, "import_module", broken)
    args = argparse.Namespace(names=[], quick=True, check=False, data_dir=None, out=None)
    with pytest.raises(ModuleNotFoundError, match="matplotlib"):
        bench.run_bench(args)
