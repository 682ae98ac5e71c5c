"""Command line: ``python -m benchmarks {speed,epoch_chinchilla,all} [--quick]``."""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

from benchmarks import BENCHMARKS
from benchmarks.common import DEFAULT_DATA_DIR, DEFAULT_OUT_DIR


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run bayescale benchmarks (see BENCHMARKS.md)."
    )
    parser.add_argument("benchmark", choices=(*BENCHMARKS, "all"))
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
        "--quick", action="store_true", help="smaller sizes for a CI smoke run (~2 minutes)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks one after another (never in parallel)."""
    args = parse_args(argv)
    names = BENCHMARKS if args.benchmark == "all" else (args.benchmark,)
    start = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        module.run(args.data_dir.resolve(), args.out.resolve(), args.quick)
    print(f"\ntotal wall time: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":  # guarded: pm.sample's worker processes re-import __main__
    raise SystemExit(main())
