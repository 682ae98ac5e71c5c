"""Command line: ``python -m benchmarks [NAME ...] [--quick] [--check]`` (``bayescale bench``).

Each benchmark module has ``run(data_dir, out_dir, quick) -> dict`` (prints its tables, writes
``<out>/<name>.json``, returns the figures). A module that documents regression bounds also has
``checks(result, quick) -> list[Check]``; with ``--check`` every bound is evaluated after the runs,
printed as a table, written to ``<out>/checks.json``, and the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from benchmarks import BENCHMARKS
from benchmarks.common import (
    DEFAULT_DATA_DIR,
    DEFAULT_OUT_DIR,
    Check,
    checks_table,
    environment,
    progress,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run bayescale benchmarks (see BENCHMARKS.md)."
    )
    parser.add_argument(
        "benchmarks",
        nargs="*",
        metavar="NAME",
        choices=(*BENCHMARKS, "all"),
        help=f"benchmarks to run, in order (default all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"real datasets (default {DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT_DIR, help="where the JSON results go"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes for a CI smoke run (a few minutes)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 if a figure is past its documented bound (BENCHMARKS.md)",
    )
    return parser.parse_args(argv)


def selected(names: list[str]) -> tuple[str, ...]:
    """The benchmarks to run: all of them for no name or ``all``, else the names in order."""
    if not names or "all" in names:
        return BENCHMARKS
    return tuple(dict.fromkeys(names))


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks one after another (never in parallel)."""
    args = parse_args(argv)
    names = selected(args.benchmarks)
    start = time.perf_counter()
    checks: list[Check] = []
    for i, name in enumerate(names, 1):
        progress(f"benchmark {i}/{len(names)}: {name} ({'quick' if args.quick else 'full'})")
        began = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        result = module.run(args.data_dir.resolve(), args.out.resolve(), args.quick)
        progress(f"benchmark {name} done in {time.perf_counter() - began:.0f} s")
        if args.check and hasattr(module, "checks"):
            checks.extend(module.checks(result, args.quick))
    print(f"\ntotal wall time: {time.perf_counter() - start:.1f} s")
    if not args.check:
        return 0
    return report_checks(checks, args.out.resolve())


def report_checks(checks: list[Check], out_dir: Path) -> int:
    """Print the checks, write ``checks.json``; 1 if any failed (or none ran), else 0."""
    if not checks:
        print("\n--check: the selected benchmarks have no documented bounds", file=sys.stderr)
        return 1
    print(checks_table(checks))
    out_dir.mkdir(parents=True, exist_ok=True)
    body = {"environment": environment(), "checks": [c.to_dict() for c in checks]}
    (out_dir / "checks.json").write_text(json.dumps(body, indent=2) + "\n")
    failed = [c for c in checks if not c.passed]
    for c in failed:
        print(f"check failed: {c.benchmark}: {c.name} = {c.measured} (bound {c.bound})")
    return 1 if failed else 0


if __name__ == "__main__":  # guarded: pm.sample's worker processes re-import __main__
    raise SystemExit(main())
