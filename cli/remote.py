"""``bayescale remote``: a bayescale server from the shell, through the Python client.

Each command takes ``--url`` (``$BAYESCALE_URL``), ``--key`` (``$BAYESCALE_API_KEY``),
``--project`` (``$BAYESCALE_PROJECT``, else ``default``), ``--json`` and ``--quiet``. A server's
error is one ``error: ...`` line naming the field, exit 2; a failed or timed-out fit exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import (
    careful_arg,
    centring_args,
    max_draws_arg,
    max_per_run_arg,
    numbers,
    pairs,
    tree_depth_args,
)
from cli.planning import bracket_arg, peak_args, print_peak

if TYPE_CHECKING:
    from service.client import Client, FitHandle

Handler = Callable[["Client", argparse.Namespace], int]


def add_remote_parsers(sub: Any) -> None:
    """Register ``remote`` and its commands on the ``bayescale`` sub-parser collection."""
    remote = sub.add_parser(
        "remote",
        help="talk to a bayescale server: upload runs, fit, wait, predict",
        description="Work with a running 'bayescale serve' over HTTP (the Python client).",
        epilog="example: bayescale remote upload sweep runs.csv && "
        "bayescale remote fit sweep --family chinchilla --wait",
    )
    commands = remote.add_subparsers(title="remote commands", metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="server address (default $BAYESCALE_URL or local :8000)")
    common.add_argument("--key", help="API key of the project (default $BAYESCALE_API_KEY)")
    common.add_argument("--project", help="project (default $BAYESCALE_PROJECT or 'default')")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument("--quiet", action="store_true", help="no progress bar")

    p = commands.add_parser("datasets", parents=[common], help="list the project's datasets")
    p.set_defaults(handler=_run(_datasets))

    p = commands.add_parser(
        "upload", parents=[common], help="append a CSV of runs (the same file twice stores once)"
    )
    p.add_argument("dataset")
    p.add_argument("csv", type=Path, help="columns params, ..., loss, group, run; others meta")
    p.add_argument("--group-col", metavar="COLUMN", help="the column read as the group")
    p.add_argument("--run-col", metavar="COLUMN", help="the column read as the run")
    p.add_argument(
        "--map", default="", metavar="FIELD=COLUMN,...",
        help="read CSV columns as inputs or loss, e.g. loss=final_loss,params=n_params",
    )  # fmt: skip
    p.set_defaults(handler=_run(_upload))

    p = commands.add_parser("fit", parents=[common], help="queue a fit (or a backtest)")
    p.add_argument("dataset")
    p.add_argument("--family", default=None, help="family name (default: the server's)")
    p.add_argument("--family-option", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--pooling", metavar="HOW|PARAM=HOW,...")
    p.add_argument("--likelihood", choices=("normal", "student_t"))
    max_per_run_arg(p, default="default")
    for name in ("draws", "tune", "chains", "seed"):
        p.add_argument(f"--{name}", type=int)
    p.add_argument("--target-accept", type=float)
    p.add_argument("--init", choices=("multistart", "jitter"), help="where the chains start")
    max_draws_arg(p, default="default")
    tree_depth_args(p, None, "default")
    careful_arg(p, "default")
    centring_args(p, None, None)  # None: the server's default
    p.add_argument("--name", help="a label for the fit")
    p.add_argument("--tag", action="append", help="a tag (repeatable)")
    p.add_argument("--below", metavar="INPUT=VALUE,...", help="backtest: train below these")
    p.add_argument("--fraction", type=float, help="backtest: train on this fraction per group")
    p.add_argument("--by", help="backtest with --fraction: the input to order by")
    p.add_argument("--wait", action="store_true", help="wait for the result (progress bar)")
    p.add_argument("--timeout", type=float, help="with --wait: give up after this many seconds")
    p.set_defaults(handler=_run(_fit))

    p = commands.add_parser("wait", parents=[common], help="wait for a fit, print its result")
    p.add_argument("fit_id")
    p.add_argument("--timeout", type=float, help="give up after this many seconds")
    p.set_defaults(handler=_run(_wait))

    p = commands.add_parser("fits", parents=[common], help="list fits, newest first")
    p.add_argument("--dataset")
    p.add_argument("--status", choices=("queued", "running", "succeeded", "failed"))
    p.set_defaults(handler=_run(_fits))

    p = commands.add_parser("predict", parents=[common], help="predict loss from a fit")
    p.add_argument("fit_id")
    p.add_argument("--at", action="append", default=[], metavar="INPUT=VALUE,...", required=True)
    p.add_argument("--group", help="fitted group; omit (several groups) for a new architecture")
    p.add_argument(
        "--new-group", action="store_true", help="predict an unseen --group as a new architecture"
    )
    p.add_argument("--prob", type=float, action="append", help="interval probability")
    p.set_defaults(handler=_run(_predict))

    p = commands.add_parser("peak", parents=[common], help="where a fit's loss curve peaks")
    p.add_argument("fit_id")
    peak_args(p, with_json=False)
    p.set_defaults(handler=_run(_peak))


def _run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """The handler with a client from the options, and the client's errors as exit codes."""

    def run(args: argparse.Namespace) -> int:
        # httpx and pydantic only for a command that talks to a server (--help stays instant)
        from service.client import BayescaleError, Client, FitFailedError

        try:
            with Client(args.url, args.key, args.project) as client:
                return handler(client, args)
        except FitFailedError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except TimeoutError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except BayescaleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run


def _dump(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _datasets(client: Client, args: argparse.Namespace) -> int:
    datasets = client.list_datasets()
    if args.json:
        _dump([d.model_dump(mode="json") for d in datasets])
        return 0
    for d in datasets:
        print(f"{d.name:<32} {d.observations:>8} runs  created {d.created_at:%Y-%m-%d %H:%M}")
    return 0


def _upload(client: Client, args: argparse.Namespace) -> int:
    from service.client import derive_key

    text = args.csv.read_text()
    columns = pairs(args.map, "map")
    for name in ("group", "run"):
        if getattr(args, f"{name}_col"):
            columns[name] = getattr(args, f"{name}_col")
    client.create_dataset(args.dataset, exist_ok=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    # the same file under another mapping is other rows: another key, not a conflicting replay
    key = derive_key([args.dataset, digest, columns])
    batch = client.append_observations(args.dataset, text, idempotency_key=key, columns=columns)
    if args.json:
        _dump(batch.model_dump(mode="json"))
    elif batch.replayed:
        print(f"{args.csv} was already uploaded to {args.dataset} (batch {batch.batch_id})")
    else:
        print(f"appended {batch.rows} runs to {args.dataset} (batch {batch.batch_id})")
    return 0


def _fit(client: Client, args: argparse.Namespace) -> int:
    sampler = {
        name: getattr(args, name)
        for name in (
            "draws",
            "tune",
            "chains",
            "seed",
            "target_accept",
            "init",
            "max_tree_depth",
            "centring",
            "non_centred_rerun",
        )
        if getattr(args, name) is not None
    }
    # "none" is sent as null: never sample longer, deeper or with smaller steps
    for name in ("max_draws", "deeper_tree_depth", "careful_target_accept"):
        if getattr(args, name) != "default":
            sampler[name] = getattr(args, name)
    pooling: str | dict[str, str] | None = args.pooling
    if args.pooling and "=" in args.pooling:
        pooling = pairs(args.pooling, "pooling")
    holdout = {"below": numbers(args.below, "below") if args.below else None}
    holdout |= {"fraction": args.fraction, "by": args.by}
    holdout = {k: v for k, v in holdout.items() if v is not None}
    handle = client.fit(
        args.dataset,
        args.family,
        sampler=sampler or None,
        family_options=pairs(",".join(args.family_option), "family-option") or None,
        pooling=pooling,
        likelihood=args.likelihood,
        holdout=holdout or None,
        max_per_run=args.max_per_run,
        name=args.name,
        tags=args.tag,
    )
    if args.wait:
        return _show(handle.wait(args.timeout, progress=not args.quiet), args.json)
    if args.json:
        _dump(handle.info.model_dump(mode="json"))
    else:
        print(f"queued fit {handle.id}; follow it with: bayescale remote wait {handle.id}")
    return 0


def _wait(client: Client, args: argparse.Namespace) -> int:
    handle = client.get_fit(args.fit_id)
    return _show(handle.wait(args.timeout, progress=not args.quiet), args.json)


def _show(handle: FitHandle, as_json: bool) -> int:
    info = handle.info
    if as_json:
        _dump(info.model_dump(mode="json"))
        return 0
    state = "converged" if info.converged else "NOT converged"
    print(f"fit {info.id}: {info.family}, {info.n_observations} runs, {state}")
    print(f"{'parameter':>12} {'group':<20} {'median':>10} {'90% interval':>24}")
    for row in info.parameters or []:
        lo, hi = row.get("lo_90"), row.get("hi_90")
        interval = f"[{lo:.4g}, {hi:.4g}]" if lo is not None and hi is not None else ""
        group = row.get("group") or ""
        print(f"{row['parameter']:>12} {group:<20} {row['median']:>10.4g} {interval:>24}")
    for warning in info.warnings:
        print(f"  warning [{warning.get('code')}]: {warning.get('message')}")
    if info.backtest:
        overall = info.backtest.get("overall", {})
        print(f"backtest: rmse_log {overall.get('rmse_log')}, coverage {overall.get('coverage')}")
    return 0


def _fits(client: Client, args: argparse.Namespace) -> int:
    fits = client.list_fits(dataset=args.dataset, status=args.status)
    if args.json:
        _dump([f.info.model_dump(mode="json") for f in fits])
        return 0
    for f in fits:
        info = f.info
        print(
            f"{info.id}  {info.status:<9} {info.family:<18} {info.n_observations:>6} runs  "
            f"{info.name or '-'}  {info.created_at:%Y-%m-%d %H:%M}"
        )
    return 0


def _peak(client: Client, args: argparse.Namespace) -> int:
    answer = client.peak(
        args.fit_id,
        args.axis,
        numbers(args.at, "at"),
        group=args.group,
        bracket=bracket_arg(args.bracket),
        probs=args.prob,
    )
    record = answer.model_dump(mode="json")
    if args.json:
        _dump(record)
    else:
        print_peak(record)
    return 0


def _predict(client: Client, args: argparse.Namespace) -> int:
    points = [numbers(spec, "at") for spec in args.at]
    answer = client.predict(
        args.fit_id, points, group=args.group, probs=args.prob, new_group=args.new_group
    )
    if args.json:
        _dump(answer.model_dump(mode="json"))
        return 0
    who = "a new architecture" if answer.population else f"group {answer.group}"
    print(f"prediction for {who}; {answer.interval_kind} intervals")
    for rec in answer.predictions:
        where = ", ".join(f"{k}={v:.4g}" for k, v in rec["inputs"].items())
        print(f"{where}: median {rec['median']:.4f} ({rec['region']})")
        for tag, (lo, hi) in rec["mean_interval"].items():
            nlo, nhi = rec["new_run_interval"][tag]
            print(f"  {tag}%  mean curve [{lo:.4f}, {hi:.4f}]   new run [{nlo:.4f}, {nhi:.4f}]")
    return 0
