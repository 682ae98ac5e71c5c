"""Helpers every ``bayescale`` command shares: option groups, KEY=VALUE parsing, fitting, JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import models
from models import BayescaleError


def fit_args(p: argparse.ArgumentParser) -> None:
    """The data, model and sampler options of a fit (``fit`` and ``backtest`` share them)."""
    p.add_argument("data", type=Path, help="CSV file, one run per row")
    p.add_argument(
        "--family",
        default=models.DEFAULT_FAMILY,
        help="family name (see 'bayescale families'), or auto: candidate laws weighted by "
        "leave-future-out stacking (the default)",
    )
    p.add_argument(
        "--family-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="family option, e.g. x=data for power_law (repeatable)",
    )
    p.add_argument("--group-col", help="column with the architecture/family (default: one group)")
    p.add_argument(
        "--run-col",
        help="column naming the training run of each row: checkpoints of one run share a run "
        "effect (default: every row is a run of its own)",
    )
    max_per_run_arg(p, default=models.DEFAULT_MAX_PER_RUN)
    p.add_argument(
        "--map",
        default="",
        metavar="FIELD=COLUMN,...",
        help="map canonical fields to CSV columns, e.g. loss=final_loss,params=n_params",
    )
    p.add_argument(
        "--flops-per-param-token",
        type=float,
        metavar="K",
        help="fill missing data as compute/(K*params) or compute as K*params*data (6 for "
        "dense transformers)",
    )
    p.add_argument(
        "--pooling",
        metavar="HOW|PARAM=HOW,...",
        help="shared, partial or independent for all parameters, or per parameter",
    )
    p.add_argument("--priors", type=Path, metavar="FILE.json", help="prior overrides (JSON)")
    p.add_argument(
        "--likelihood", default=models.DEFAULT_LIKELIHOOD, choices=("normal", "student_t")
    )
    sampler_args(p)


def max_per_run_arg(p: argparse.ArgumentParser, default: int | str | None) -> None:
    """``--max-per-run K`` (or ``none``): thinning of long run trajectories."""
    p.add_argument(
        "--max-per-run",
        type=int_or_none,
        default=default,
        metavar="K|none",
        help="thin each run to at most K log-spaced checkpoints before fitting; 'none' keeps "
        f"every row (default {models.DEFAULT_MAX_PER_RUN})",
    )


def _or_none[T: (int, float)](kind: type[T], text: str) -> T | str | None:
    """A number of ``kind``, or ``none`` (None).

    ``default`` passes through: a remote command's default, the server's own (argparse converts
    defaults too).
    """
    if text.strip().lower() == "none":
        return None
    if text == "default":
        return text
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"'{text}' is not {what} or 'none'") from None


def int_or_none(text: str) -> int | str | None:
    """An integer, ``none`` (None) or ``default``."""
    return _or_none(int, text)


def float_or_none(text: str) -> float | str | None:
    """A number, ``none`` (None) or ``default``."""
    return _or_none(float, text)


def sampler_args(p: argparse.ArgumentParser) -> None:
    """NUTS options, defaulting to :class:`models.SamplerSettings`'s values."""
    defaults = models.SamplerSettings()
    p.add_argument("--draws", type=int, default=defaults.draws)
    p.add_argument("--tune", type=int, default=defaults.tune)
    p.add_argument("--chains", type=int, default=defaults.chains)
    p.add_argument("--target-accept", type=float, default=defaults.target_accept)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--init",
        default=defaults.init,
        choices=models.sampling.INITS,
        help="chain starts: local optima from prior draws (multistart) or nutpie's jitter",
    )
    max_draws_arg(p, defaults.max_draws)
    tree_depth_args(p, defaults.max_tree_depth, defaults.deeper_tree_depth)
    careful_arg(p, defaults.careful_target_accept)
    centring_args(p, defaults.centring, defaults.non_centred_rerun)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def max_draws_arg(p: argparse.ArgumentParser, default: int | str | None) -> None:
    """``--max-draws K`` (or ``none``): the longer run of a fit that mixed too slowly."""
    p.add_argument(
        "--max-draws",
        type=int_or_none,
        default=default,
        metavar="K|none",
        help="a fit short of convergence only on R-hat or ESS is sampled again with more draws "
        f"per chain, at most K ('none': never; default {models.SamplerSettings().max_draws})",
    )


def tree_depth_args(
    p: argparse.ArgumentParser, depth: int | None, deeper: int | str | None
) -> None:
    """``--max-tree-depth D`` and ``--deeper-tree-depth D|none`` (the rerun of a cut-short fit)."""
    defaults = models.SamplerSettings()
    p.add_argument(
        "--max-tree-depth",
        type=int,
        default=depth,
        metavar="D",
        help=f"NUTS trajectories end after 2^D steps (default {defaults.max_tree_depth})",
    )
    p.add_argument(
        "--deeper-tree-depth",
        type=int_or_none,
        default=deeper,
        metavar="D|none",
        help="a fit that missed convergence with its trajectories cut at the maximum depth is "
        f"sampled again with depth D ('none': never; default {defaults.deeper_tree_depth})",
    )


def careful_arg(p: argparse.ArgumentParser, default: float | str | None) -> None:
    """``--careful-target-accept X|none``: the smaller-step rerun of a fit that diverged."""
    p.add_argument(
        "--careful-target-accept",
        type=float_or_none,
        default=default,
        metavar="X|none",
        help="a fit that missed convergence with divergences is sampled again with target "
        "acceptance X ('none': never; default "
        f"{models.SamplerSettings().careful_target_accept})",
    )


def centring_args(p: argparse.ArgumentParser, centring: str | None, rerun: bool | None) -> None:
    """``--centring`` and ``--no-non-centred-rerun`` (the rerun of a fit with a funnel)."""
    p.add_argument(
        "--centring",
        choices=models.sampling.CENTRINGS,
        default=centring,
        help="pooled parameters' groups: centred as far as their rows pin them (auto, the "
        "default) or offsets scaled by the population spread (non_centred)",
    )
    p.add_argument(
        "--no-non-centred-rerun",
        dest="non_centred_rerun",
        action="store_false",
        default=rerun,
        help="never sample again non-centred a fit that missed convergence with a low BFMI",
    )


def sampler_settings(args: argparse.Namespace) -> models.SamplerSettings:
    """The sampler options as settings (checked there: one error, naming the option)."""
    return models.SamplerSettings(
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        target_accept=args.target_accept,
        seed=args.seed,
        init=args.init,
        max_draws=args.max_draws,
        max_tree_depth=args.max_tree_depth,
        deeper_tree_depth=args.deeper_tree_depth,
        careful_target_accept=args.careful_target_accept,
        centring=args.centring,
        non_centred_rerun=args.non_centred_rerun,
    )


def pairs(text: str, what: str) -> dict[str, str]:
    """``KEY=VALUE,...`` as a dict; a malformed item is an error naming the option ``what``."""
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise BayescaleError(f"{what}: expected KEY=VALUE, got '{item}'", field=what)
        out[key.strip()] = value.strip()
    return out


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal or forced)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled, self.start = label, enabled, time.monotonic()

    def __call__(self, fraction: float) -> None:
        """Redraw the bar at ``fraction`` done."""
        if not self.enabled:
            return
        width = 30
        done = int(width * min(max(fraction, 0.0), 1.0))
        elapsed = time.monotonic() - self.start
        bar = "#" * done + "-" * (width - done)
        print(f"\r{self.label} [{bar}] {fraction:5.1%} {elapsed:5.1f}s", end="", file=sys.stderr)

    def close(self) -> None:
        """Finish the line, so later output starts on its own."""
        if self.enabled:
            self(1.0)
            print(file=sys.stderr)


def run_fit[T](
    data: models.ScalingData,
    args: argparse.Namespace,
    fitter: Callable[..., T],
    **kwargs: Any,
) -> T:
    """``fitter(data, settings=..., progress=..., **kwargs)`` with a progress bar on a terminal."""
    settings = sampler_settings(args)
    logs = models.unmarked_checkpoints(data)
    if logs and not args.quiet:
        # said before a fit that may take hours, not only among its warnings afterwards
        rows = sum(logs.values())
        print(
            f"note: {rows:,} rows look like checkpoints of training runs with no run column; "
            "each is fitted as an independent run (slow, and intervals too narrow). Name the "
            "run column with --run-col (a file of one run's log: add a column of one value); "
            "runs are thinned to --max-per-run checkpoints",
            file=sys.stderr,
        )
    progress = Progress("sampling", not args.quiet and sys.stderr.isatty())
    if progress.enabled:
        print(
            f"fitting {kwargs.get('family', models.DEFAULT_FAMILY)} to {len(data)} runs in "
            f"{len(data.groups)} group(s) (a model's first fit on this machine compiles it, "
            "15-30 s; family auto compiles each law it tries; later fits load them from disk)",
            file=sys.stderr,
        )
    try:
        return fitter(data, settings=settings, progress=progress, **kwargs)
    finally:
        progress.close()


def load_runs(args: argparse.Namespace) -> tuple[models.ScalingData, dict[str, Any]]:
    """The CSV of runs and the model keyword arguments of :func:`models.fit`, from fit options."""
    data = models.ScalingData.from_csv(
        args.data,
        pairs(args.map, "map"),
        group_col=args.group_col,
        run_col=args.run_col,
        flops_per_param_token=args.flops_per_param_token,
    )
    pooling: str | dict[str, str] | None = args.pooling
    if args.pooling and "=" in args.pooling:
        pooling = pairs(args.pooling, "pooling")
    priors = None
    if args.priors:
        try:
            priors = json.loads(args.priors.read_text())
        except json.JSONDecodeError as exc:
            raise BayescaleError(f"priors file is not valid JSON: {exc}", field="priors") from None
    return data, {
        "family": args.family,
        "family_options": pairs(",".join(args.family_option), "family-option"),
        "pooling": pooling,
        "priors": priors,
        "likelihood": args.likelihood,
        "max_per_run": args.max_per_run,
    }


def numbers(text: str, what: str) -> dict[str, float]:
    """``KEY=NUMBER,...`` as floats; a value that is not a number is an error naming ``what``."""
    out = {}
    for key, value in pairs(text, what).items():
        try:
            out[key] = float(value)
        except ValueError:
            raise BayescaleError(f"{what}: '{value}' is not a number", field=what) from None
    return out


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback: numpy scalars become Python numbers, NaN becomes null."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value)}")
