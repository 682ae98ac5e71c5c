"""``bayescale plot``: a plot of a saved fit as PNG or SVG (see ``plots.KINDS``).

Every option of every kind is a flag (``--group``, ``--budgets``, ...); a flag the kind does not
take is refused with the kind's own options listed, exactly as the HTTP route refuses it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import models
from cli.common import pairs
from models import BayescaleError

HELP = "draw a plot of a saved fit (PNG or SVG)"


def add_plot_parser(sub: Any, *, options: bool = True) -> None:
    """Register ``plot`` on the ``bayescale`` sub-parser collection.

    Its kinds and options come from the plot registry, which imports matplotlib: with
    ``options=False`` (a command line that runs another command) only the name and help are
    registered, so ``bayescale --help`` and the other commands do not pay that import.
    """
    if not options:
        sub.add_parser("plot", help=HELP)
        return
    import plots

    kinds = ", ".join(plots.KINDS)
    p = sub.add_parser(
        "plot",
        help=HELP,
        description=f"Kinds: {kinds}. Options a kind does not take are refused.",
    )
    p.add_argument("kind", choices=list(plots.KINDS), metavar="KIND", help=kinds)
    p.add_argument("--fit", type=Path, required=True, help="fit file written by 'bayescale fit'")
    p.add_argument("-o", "--output", type=Path, required=True, help="image file (.png or .svg)")
    p.add_argument("--format", choices=plots.FORMATS, help="default: the output's suffix")
    p.add_argument(
        "--held-out",
        type=Path,
        metavar="FILE.csv",
        help="runs held out of the fit, marked on fit/residuals (same columns as the fit's CSV)",
    )
    p.add_argument("--group-col", help="with --held-out: the group column")
    p.add_argument("--map", default="", metavar="FIELD=COLUMN,...", help="with --held-out")
    for name, option in plots.option_names().items():
        many = option.type in ("floats", "strs")
        p.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"opt_{name}",
            action="append" if many else "store",
            help=option.help + (" (repeatable or comma-separated)" if many else ""),
        )
    p.set_defaults(handler=_cmd_plot)


def _cmd_plot(args: argparse.Namespace) -> int:
    import plots

    fmt = args.format or args.output.suffix.lstrip(".").lower()
    if fmt not in plots.FORMATS:
        raise BayescaleError(
            f"cannot tell the format from '{args.output.name}': use .png or .svg, or --format",
            field="format",
        )
    result = models.load_fit(args.fit)
    held_out = None
    if args.held_out is not None:
        held_out = models.ScalingData.from_csv(
            args.held_out, pairs(args.map, "map"), group_col=args.group_col
        )
    options: dict[str, Any] = {}
    for name in plots.option_names():
        value = getattr(args, f"opt_{name}")
        if isinstance(value, list):
            value = ",".join(value)
        options[name] = value
    image = plots.render(args.kind, result, fmt=fmt, held_out=held_out, **options)
    args.output.write_bytes(image)
    print(f"wrote {args.kind} plot ({len(image) / 1024:.0f} KB) -> {args.output}")
    return 0
