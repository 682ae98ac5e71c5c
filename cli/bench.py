"""``bayescale bench``: run the benchmarks of a source checkout (``python -m benchmarks``).

The benchmarks are not part of the installed package (they need the repository's layout and
write ``BENCHMARKS.md`` figures), so the command delegates to ``benchmarks.__main__.main`` when
it can be imported and says how to get it when it cannot.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

NOT_A_CHECKOUT = (
    "error: 'bayescale bench' needs a source checkout: the benchmarks/ folder is not installed "
    "with the package. Clone the repository and run 'uv run bayescale bench' (or "
    "'uv run python -m benchmarks') from its root."
)


def add_bench_parser(sub: Any) -> None:
    """Register the ``bench`` subcommand on the CLI's subparsers."""
    p = sub.add_parser(
        "bench",
        help="run the benchmarks (source checkout; tables, JSON, plots; --check for CI)",
        description="Run bayescale's benchmarks: speed, scaling, memory, accuracy (see "
        "BENCHMARKS.md). Progress goes to stderr, tables to stdout.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    p.add_argument("--quick", action="store_true", help="CI-sized run (a few minutes)")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 if a figure is past its documented bound",
    )
    p.add_argument("--data-dir", type=Path, help="real datasets (default ../shared/data)")
    p.add_argument("--out", type=Path, help="where the JSON results go (default benchmarks/out)")
    p.set_defaults(handler=run_bench)


def bench_argv(args: argparse.Namespace) -> list[str]:
    """The ``python -m benchmarks`` command line equivalent to ``args``."""
    argv = list(args.names)
    argv += ["--quick"] * args.quick + ["--check"] * args.check
    for flag, value in (("--data-dir", args.data_dir), ("--out", args.out)):
        if value is not None:
            argv += [flag, str(value)]
    return argv


def run_bench(args: argparse.Namespace) -> int:
    """Delegate to ``benchmarks.__main__.main``; exit 2 with a clear message outside a checkout."""
    try:
        module = importlib.import_module("benchmarks.__main__")
    except ModuleNotFoundError as exc:
        if exc.name not in ("benchmarks", "benchmarks.__main__"):
            raise  # a missing dependency inside the benchmarks is a real error, not this one
        print(NOT_A_CHECKOUT, file=sys.stderr)
        return 2
    return int(module.main(bench_argv(args)))
