"""The top-level ``bayescale --help``: what it is, the commands by task, and examples.

The command list is built from the registered sub-parsers when help is shown, so a command added
anywhere appears (under "other commands" until it is given a group here).
"""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Fit scaling laws to your training runs with Bayesian uncertainty.

Give it a CSV of runs (model size N, data D, loss, architecture); it fits a
hierarchical PyMC model of the loss surface and answers with posterior intervals:
the loss of a model you have not trained yet, compute-optimal sizes, and the
ArviZ diagnostics that say whether to trust them."""

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "fit and predict on this machine",
        ("demo", "example", "import", "families", "fit", "predict", "summary"),
    ),
    ("decide from a fit", ("plan", "peak", "suggest", "backtest", "plot")),
    ("a shared server", ("serve", "remote", "worker", "admin", "migrate")),
    ("tools", ("bench", "completion")),
)

EXAMPLES = """\
examples:
  bayescale demo                                   # simulate, fit and predict in one go
  bayescale fit runs.csv --group-col architecture -o fit.nc
  bayescale predict fit.nc --at params=7e9,data=1.4e11 --json

Every command has --help; most take --json for scripts. Bad input exits 2 with
one line 'error: ...' naming the field. Completion: eval "$(bayescale completion bash)"."""


def describe_commands(parser: argparse.ArgumentParser, sub: Any) -> None:
    """Replace argparse's flat command list with one grouped by task, plus examples."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.usage = "bayescale [-h] COMMAND [options]"
    sub.help = argparse.SUPPRESS
    parser.epilog = EXAMPLES
    parser.description = DESCRIPTION
    original = parser.format_help

    def format_help() -> str:
        parser.description = DESCRIPTION + "\n\n" + command_list(sub)
        return original()

    parser.format_help = format_help  # type: ignore[method-assign]


def command_list(sub: Any) -> str:
    """The commands with their one-line help, by group, in the order of ``GROUPS``."""
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    width = max(map(len, helps), default=0) + 2
    grouped = {name for _, names in GROUPS for name in names}
    sections = [*GROUPS, ("other commands", tuple(n for n in helps if n not in grouped))]
    out: list[str] = []
    for title, names in sections:
        present = [n for n in names if n in helps]
        if present:
            out.append(f"\n{title}:" if out else f"{title}:")
            out += [f"  {n:<{width}}{helps[n]}" for n in present]
    return "\n".join(out)
