"""``bayescale``: fit, predict and inspect Bayesian scaling laws from the shell.

Every command exits non-zero with a one-line ``error: ...`` for bad input (never a traceback);
``--json`` prints machine-readable output for scripts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import models
from cli.bench import add_bench_parser
from cli.common import (
    fit_args,
    json_default,
    load_runs,
    pairs,
    run_fit,
    sampler_args,
)
from cli.completion import add_completion_parser
from cli.demo_answers import decision_lines
from cli.help import describe_commands
from cli.importers import add_import_parsers
from cli.planning import add_planning_parsers
from cli.plots import add_plot_parser
from cli.remote import add_remote_parsers
from models.errors import BayescaleError
from service.errors import ServiceError

# sd above this many |medians|: the draws are heavy-tailed and a mean would mislead
HEAVY_TAIL_SD = 3.0
DEMO_GROUP = "transformer"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # every command imports only what it runs: no PyMC/PyTensor/nutpie unless it samples, no
    # matplotlib unless it plots (the plot options come from the plot registry)
    parser = _parser(plot_options=bool(argv) and argv[0] in ("plot", "completion"))
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that left (| head) is not an error
        return code
    except BrokenPipeError:
        # the rest of the output has nowhere to go; point stdout at /dev/null so the
        # interpreter's last flush does not fail again, and end quietly like `cat | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except BayescaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser(*, plot_options: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayescale",
        description="Bayesian scaling-law fits: hierarchical PyMC models of the loss surface "
        "with posterior intervals and ArviZ diagnostics.",
        epilog="Start with 'bayescale demo', then 'bayescale fit --help'.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("fit", help="fit a scaling law to a CSV of runs and save the posterior")
    fit_args(p)
    p.add_argument("-o", "--output", type=Path, required=True, help="where to write the fit (.nc)")
    p.add_argument("--prob", type=float, action="append", help="interval probability (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(handler=_cmd_fit)

    p = sub.add_parser("predict", help="predict loss at new scales from a saved fit")
    p.add_argument("fit", type=Path, help="fit file written by 'bayescale fit'")
    p.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="INPUT=VALUE,...",
        help="one point, e.g. params=7e10,data=1.4e12 (repeatable)",
    )
    p.add_argument("--points", type=Path, metavar="FILE.csv", help="CSV of points to predict")
    p.add_argument("--group", help="fitted group; omit (several groups) for a new architecture")
    p.add_argument(
        "--new-group", action="store_true", help="predict an unseen --group as a new architecture"
    )
    p.add_argument("--prob", type=float, action="append", help="interval probability (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_predict)

    p = sub.add_parser("summary", help="print parameter summaries and diagnostics of a saved fit")
    p.add_argument("fit", type=Path)
    p.add_argument("--prob", type=float, action="append")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_summary)

    add_planning_parsers(sub)
    add_plot_parser(sub, options=plot_options)
    add_bench_parser(sub)

    p = sub.add_parser("families", help="list scaling-law families, formulas and default priors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_families)

    p = sub.add_parser("example", help="write the bundled example dataset (simulated) to CSV")
    p.add_argument("output", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(handler=_cmd_example)

    p = sub.add_parser("serve", help="run the HTTP API (SQLite and in-process workers by default)")
    # The environment's values are the defaults, so a container or a test sets them once.
    p.add_argument("--host", default=os.environ.get("BAYESCALE_HOST", "127.0.0.1"))
    p.add_argument("--port", type=_port, default=os.environ.get("BAYESCALE_PORT", "8000"))
    p.set_defaults(handler=_cmd_serve)

    p = sub.add_parser(
        "worker",
        help="run fit jobs from the Redis queue (team mode; needs BAYESCALE_REDIS_URL)",
    )
    p.set_defaults(handler=_cmd_worker)

    p = sub.add_parser("migrate", help="bring the database to the newest schema")
    p.set_defaults(handler=_cmd_migrate)

    admin = sub.add_parser("admin", help="projects and API keys, without HTTP")
    admin_sub = admin.add_subparsers(title="admin commands", metavar="COMMAND")
    p = admin_sub.add_parser("create-project", help="create a project and print its admin key")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print the project and key as JSON")
    p.set_defaults(handler=_cmd_create_project)
    p = admin_sub.add_parser("create-key", help="create an API key and print it (shown once)")
    p.add_argument("project")
    p.add_argument("--role", choices=("read", "write", "admin"), default="read")
    p.add_argument("--name", default="")
    p.add_argument("--json", action="store_true", help="print the key and its role as JSON")
    p.set_defaults(handler=_cmd_create_key)
    p = admin_sub.add_parser("revoke-key", help="revoke an API key by its prefix")
    p.add_argument("project")
    p.add_argument("prefix")
    p.add_argument("--json", action="store_true", help="print the revoked prefix as JSON")
    p.set_defaults(handler=_cmd_revoke_key)

    p = sub.add_parser(
        "demo", help="simulate four architectures, fit them hierarchically, predict the next scale"
    )
    p.add_argument("--dir", type=Path, default=Path("bayescale-demo"), help="output folder")
    sampler_args(p)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(handler=_cmd_demo)

    add_remote_parsers(sub)
    add_import_parsers(sub)
    add_completion_parser(sub, parser)
    describe_commands(parser, sub)  # last: lists every command registered above
    return parser


def _cmd_fit(args: argparse.Namespace) -> int:
    data, kwargs = load_runs(args)
    result = run_fit(data, args, models.fit, **kwargs)
    models.save_fit(result, args.output)
    _print_fit(result, tuple(args.prob or (0.9,)), args.json, saved=args.output)
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    _print_fit(models.load_fit(args.fit), tuple(args.prob or (0.9,)), args.json)
    return 0


# The options that act on a data warning, for the people who meet it at the command line.
_HINTS = {
    "unused_columns": "with bayescale fit: --map INPUT=COLUMN (e.g. --map data=context) names "
    "it as an input, --group-col COLUMN as the group",
    "checkpoints_without_run": "with bayescale fit: --run-col COLUMN names each row's run "
    "(--max-per-run K sets the checkpoints kept a run)",
    "pooled_curves": "with bayescale fit (and bayescale remote upload): --group-col COLUMN "
    "gives each curve its own parameters, partially pooled; --run-col COLUMN gives each run "
    "its own offset",
}


def _print_fit(
    result: models.Fit, probs: tuple[float, ...], as_json: bool, saved: Path | None = None
) -> None:
    table = result.summary(probs)
    diag = result.diagnostics
    if as_json:
        payload = {
            "family": result.family.key(),
            "groups": result.groups,
            "config": result.config.to_json(),
            "parameters": _records(table),
            "diagnostics": diag.to_dict(),
            "stacking": result.stacking,
            "fit_file": str(saved) if saved else None,
        }
        print(json.dumps(payload, indent=2, default=json_default))
        return
    import pandas as pd

    # medians and intervals: mean and sd (in --json) are dominated by a few far draws when a
    # parameter's posterior is heavy-tailed, as population amplitudes often are
    shown = table.drop(columns=["mean", "sd"], errors="ignore")
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(f"family: {result.family.key()}  groups: {', '.join(result.groups)}")
        print("parameters: posterior medians and central intervals")
        print(shown.fillna("").to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    note = _heavy_tail_note(table)
    if note:
        print(note)
    status = "converged" if diag.converged else "NOT converged: " + "; ".join(diag.reasons)
    print(
        f"\ndiagnostics: {status}\n  max R-hat {diag.r_hat_max:.4f}  min ESS bulk "
        f"{diag.ess_bulk_min:.0f} tail {diag.ess_tail_min:.0f}  divergences {diag.divergences}"
        f"  min BFMI {diag.bfmi_min:.2f}"
    )
    if diag.thinning is not None:
        t = diag.thinning
        print(
            f"  runs: {t['runs']}, thinned to at most {t['max_per_run']} checkpoints per run "
            f"along {t['axis']}: {t['rows_before']} -> {t['rows_after']} rows"
        )
    if diag.elpd_loo is not None:
        print(
            f"  LOO elpd {diag.elpd_loo:.1f} (se {diag.elpd_loo_se:.1f})  p_loo {diag.p_loo:.1f}  "
            f"max Pareto k {diag.pareto_k_max:.2f}"
        )
    hinted = set()
    for w in diag.warnings:
        print(f"  warning [{w.code}]: {w.message}")
        if w.code in _HINTS and w.code not in hinted:  # a stacked fit repeats it per law
            print(f"    {_HINTS[w.code]}")
            hinted.add(w.code)
    if result.stacking is not None:
        _print_stacking(result.stacking)
    if saved:
        print(f"\nsaved: {saved}")


def _print_stacking(report: dict[str, Any]) -> None:
    """Family auto: the candidate laws, their weights and leave-future-out scores."""
    cuts = ", ".join(f"{c:g}" for c in report["cuts"])
    print(
        f"\ncandidate laws (stacking of leave-future-out predictions along {report['axis']}; "
        f"refits below {cuts} of each group's rows; {report['scored_rows']} rows scored; "
        f"{report['elapsed_s']} s):"
    )
    for c in sorted(report["candidates"], key=lambda c: -c["weight"]):
        elpd = "-" if c["lfo_elpd"] is None else f"{c['lfo_elpd']:.1f}"
        law = c.get("label", c["family"])  # reports stored before labels name the family
        span = c.get("weight_interval")  # absent from reports stored before it existed
        span_text = "" if span is None else f"  (90 % {span[0]:.2f}-{span[1]:.2f})"
        print(
            f"  {c['weight']:6.3f}  {law:<42} LFO elpd {elpd:>8}  "
            f"tau {c['discrepancy']['tau_median']:.3f}/decade{span_text}"
        )
    if any(c.get("weight_interval") for c in report["candidates"]):
        print(
            "  (90 %: Bayesian-bootstrap interval of a law's stacking weight over the scored "
            "rows; a wide one means the rows hardly tell the laws apart)"
        )
    for s in report["skipped"]:
        print(f"  left out {s['family']}: {s['reason']}")


def _heavy_tail_note(table: Any) -> str:
    """Why the table shows no means, when some parameter's draws are heavy-tailed."""
    heavy = table[table["sd"] > HEAVY_TAIL_SD * table["median"].abs()]
    if heavy.empty:
        return ""
    worst = heavy.loc[(heavy["sd"] / heavy["median"].abs()).idxmax()]
    names = ", ".join(
        f"{r.parameter} ({r.group if isinstance(r.group, str) else r.kind})"
        for r in heavy.itertuples()
    )
    return (
        f"note: {names} {'is' if len(heavy) == 1 else 'are'} heavy-tailed: a few draws lie far "
        f"out (e.g. {worst['parameter']}: mean "
        f"{worst['mean']:.4g}, sd {worst['sd']:.4g}, median {worst['median']:.4g}), so a mean "
        "would describe those few draws, not a typical value; the median and interval barely "
        "move with them (--json has mean and sd too)"
    )


def _cmd_predict(args: argparse.Namespace) -> int:
    result = models.load_fit(args.fit)
    rows: list[dict[str, Any]] = []
    for spec in args.at:
        rows.append({k: float(v) for k, v in pairs(spec, "at").items()})
    if args.points:
        points = models.read_csv(args.points)
        rows.extend({str(k): v for k, v in r.items()} for r in points.to_dict("records"))
    if not rows:
        raise BayescaleError(
            "give points with --at INPUT=VALUE,... or --points FILE.csv", field="at"
        )
    probs = tuple(args.prob or (0.5, 0.9))
    prediction = result.predict(
        rows, group=args.group, probs=probs, seed=args.seed, new_group=args.new_group
    )
    if args.json:
        payload = {
            "group": prediction.group,
            "population": prediction.population,
            "interval_kind": prediction.interval_kind,
            "warnings": list(prediction.warnings),
            "predictions": prediction.to_records(),
        }
        print(json.dumps(payload, indent=2, default=json_default))
        return 0
    who = (
        f"new group drawn from the population of {len(result.groups)} groups"
        if prediction.population
        else f"group {prediction.group}"
    )
    print(f"prediction for {who}; {prediction.interval_kind} intervals")
    for rec in prediction.to_records():
        where = ", ".join(f"{k}={v:.4g}" for k, v in rec["inputs"].items())
        print(
            f"{where}: median {rec['median']:.4f} ({rec['region']}, distance {rec['distance']:.2f}"
            f", {rec['decades_beyond']:.2f} decades beyond the data)"
        )
        for tag, (lo, hi) in rec["mean_interval"].items():
            nlo, nhi = rec["new_run_interval"][tag]
            print(f"  {tag}%  mean curve [{lo:.4f}, {hi:.4f}]   new run [{nlo:.4f}, {nhi:.4f}]")
    for warning in prediction.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _cmd_families(args: argparse.Namespace) -> int:
    families = models.list_families()
    if args.json:
        print(json.dumps(families, indent=2))
        return 0
    for fam in families:
        print(f"{fam['name']}: {fam['formula']}")
        print(f"  inputs: {', '.join(fam['inputs'])}; use when: {fam['use_when']}")
        for name, opt in fam["options"].items():
            print(f"  option {name}: {', '.join(opt['choices'])} (default {opt['default']})")
        for p in fam["parameters"]:
            prior = p["prior"]
            kwargs = ", ".join(f"{k}={v:.3g}" for k, v in prior["kwargs"].items())
            print(f"  {p['name']:>6}  {prior['dist']}({kwargs})  [{p['unit']}] {p['description']}")
        print(f"  citation: {fam['citation']}\n")
    return 0


def _cmd_example(args: argparse.Namespace) -> int:
    from models.simulate import example_dataset

    frame = example_dataset(args.seed).to_frame().rename(columns={"group": "architecture"})
    frame.to_csv(args.output, index=False)
    groups = sorted(frame["architecture"].unique())
    if args.json:
        print(json.dumps({"path": str(args.output), "runs": len(frame), "groups": groups}))
        return 0
    print(f"wrote {len(frame)} simulated runs of {len(groups)} architectures to {args.output}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from models.simulate import example_dataset

    # with --json the narration is left out and one JSON document is printed at the end
    say = (lambda *_: None) if args.json else print
    args.dir.mkdir(parents=True, exist_ok=True)
    csv = args.dir / "runs.csv"
    frame = example_dataset(0).to_frame().rename(columns={"group": "architecture"})
    frame.to_csv(csv, index=False)
    say(f"1. simulated {len(frame)} runs of 4 architectures -> {csv}")
    data = models.ScalingData.from_csv(csv, group_col="architecture")
    result = run_fit(data, args, models.fit, family="chinchilla")
    fit_path = models.save_fit(result, args.dir / "fit.nc")
    say(f"2. fitted a hierarchical chinchilla law -> {fit_path}\n")
    if not args.json:
        _print_fit(result, (0.9,), False)
    say("\n3. predicted loss of a 7B model on 140B tokens:")
    point = {"params": [7e9], "data": [1.4e11]}
    predictions = []
    for group in (*result.groups[:1], None):
        pred = result.predict(point, group=group, probs=(0.9,))
        rec = pred.to_records()[0]
        predictions.append({"group": pred.group, "population": pred.population, **rec})
        who = "a new architecture" if pred.population else group
        lo, hi = rec["new_run_interval"]["90"]
        say(
            f"   {who}: median {rec['median']:.3f}, 90% new-run interval [{lo:.3f}, {hi:.3f}] "
            f"({rec['region']})"
        )
    say(f"\n4. how big to train a {DEMO_GROUP} (medians with 90% intervals):")
    lines, decisions = decision_lines(result, data, fit_path, DEMO_GROUP)
    for line in lines:
        say(line)
    if args.json:
        payload = {
            "runs_csv": str(csv),
            "fit_file": str(fit_path),
            "parameters": _records(result.summary((0.9,))),
            "diagnostics": result.diagnostics.to_dict(),
            "predictions": predictions,
            "decisions": decisions,
        }
        print(json.dumps(payload, indent=2, default=json_default))
    return 0


def _port(text: str) -> int:
    """A TCP port from ``--port`` or ``BAYESCALE_PORT`` (argparse converts a string default too)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a TCP port 1-65535 (from --port or BAYESCALE_PORT)"
        )
    return port


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service import admin
    from service.main import create_app

    engine = admin.open_for_serving()
    key = admin.first_start(engine)
    engine.dispose()
    if key:
        print(f"first start: created project 'default'; its admin key (shown once):\n  {key}")
    uvicorn.run(create_app(), host=args.host, port=args.port)
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from service.config import get_settings
    from service.queue import run_worker

    settings = get_settings()
    if not settings.redis_url:
        raise models.SettingsError(
            "bayescale worker consumes the Redis queue: set BAYESCALE_REDIS_URL "
            "(embedded `bayescale serve` runs its own workers)",
            field="BAYESCALE_REDIS_URL",
        )
    from service import admin

    admin.open_for_serving(settings).dispose()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("bayescale").setLevel(logging.INFO)
    run_worker(settings)
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from service import admin

    admin.open_engine(migrate=True)
    print("database is at the newest schema")
    return 0


def _cmd_create_project(args: argparse.Namespace) -> int:
    from service import admin

    key = admin.create_project(admin.open_engine(), args.name)
    if args.json:
        print(json.dumps({"project": args.name, "role": "admin", "key": key}))
        return 0
    print(f"project '{args.name}' created; admin key (shown once):\n{key}")
    return 0


def _cmd_create_key(args: argparse.Namespace) -> int:
    from service import admin

    key = admin.create_key(admin.open_engine(), args.project, args.role, args.name)
    if args.json:
        print(json.dumps({"project": args.project, "role": args.role, "key": key}))
        return 0
    print(key)
    return 0


def _cmd_revoke_key(args: argparse.Namespace) -> int:
    from service import admin

    admin.revoke_key(admin.open_engine(), args.project, args.prefix)
    if args.json:
        print(json.dumps({"project": args.project, "revoked": args.prefix}))
        return 0
    print(f"revoked key {args.prefix}")
    return 0


def _records(table: Any) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]


if __name__ == "__main__":
    raise SystemExit(main())
