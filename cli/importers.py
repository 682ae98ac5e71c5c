"""``bayescale import``: runs from MLflow or TensorBoard into a CSV or a dataset of a server.

One row per step at which the loss metric was logged, ``run`` the tracker's run id. Importing
again adds only steps logged since; a run missing a mapped parameter is skipped with its reason
on stderr; an unknown experiment, metric or parameter exits 2 naming it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cli.common import pairs
from trackers import ImportResult, merge_csv, mlflow_rows, tensorboard_rows

MAP_HELP = (
    "inputs from the runs: a parameter or tag (one value per run), a metric logged at the "
    "same steps, or step / step*K (the step number, times K), e.g. "
    "params=n_params,data=step*524288,group=arch"
)


def add_import_parsers(sub: Any) -> None:
    """Register ``import mlflow`` and ``import tensorboard``."""
    parser = sub.add_parser(
        "import",
        help="import runs from MLflow or TensorBoard (one row per logged step)",
        description="Turn tracked runs into bayescale rows: a local CSV (-o) or a dataset of a "
        "server (--remote). Importing again adds only the steps logged since.",
        epilog="example: bayescale import mlflow --tracking-uri http://127.0.0.1:5000 "
        "--experiment sweep --loss val_loss --map params=n_params,data=step*524288 -o runs.csv",
    )
    trackers = parser.add_subparsers(title="trackers", metavar="TRACKER")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--loss", required=True, metavar="METRIC", help="the loss metric")
    common.add_argument("--map", default="", metavar="FIELD=SOURCE,...", help=MAP_HELP)
    target = common.add_mutually_exclusive_group(required=True)
    target.add_argument("-o", "--output", type=Path, metavar="FILE.csv", help="merge into a CSV")
    target.add_argument("--remote", metavar="DATASET", help="add to this dataset of a server")
    common.add_argument("--url", help="with --remote: server (default $BAYESCALE_URL)")
    common.add_argument("--key", help="with --remote: API key (default $BAYESCALE_API_KEY)")
    common.add_argument("--project", help="with --remote: project (default $BAYESCALE_PROJECT)")
    common.add_argument("--json", action="store_true", help="print the counts as JSON")

    p = trackers.add_parser(
        "mlflow", parents=[common], help="runs of an MLflow experiment (needs bayescale[mlflow])"
    )
    p.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        help="MLflow server or store (default $MLFLOW_TRACKING_URI)",
    )
    p.add_argument("--experiment", required=True, help="experiment name")
    p.set_defaults(handler=_mlflow)

    p = trackers.add_parser(
        "tensorboard",
        parents=[common],
        help="event files under a log directory, one run per directory "
        "(needs bayescale[tensorboard])",
    )
    p.add_argument("logdir", type=Path, help="TensorBoard log directory")
    p.set_defaults(handler=_tensorboard)


def _mlflow(args: argparse.Namespace) -> int:
    if not args.tracking_uri:
        print("error: give --tracking-uri (or set MLFLOW_TRACKING_URI)", file=sys.stderr)
        return 2
    result = mlflow_rows(args.tracking_uri, args.experiment, args.loss, pairs(args.map, "map"))
    return _store(result, args)


def _tensorboard(args: argparse.Namespace) -> int:
    return _store(tensorboard_rows(args.logdir, args.loss, pairs(args.map, "map")), args)


def _store(result: ImportResult, args: argparse.Namespace) -> int:
    for skip in result.skipped:
        print(f"skipped run {skip.name} ({skip.run}): {skip.reason}", file=sys.stderr)
    if args.output:
        added, present = merge_csv(args.output, result.rows)
        where = str(args.output)
    else:
        from service.client import BayescaleError, Client

        try:
            with Client(args.url, args.key, args.project) as client:
                added, present = client.import_rows(args.remote, result.rows)
        except BayescaleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        where = f"dataset {args.remote}"
    if args.json:
        print(json.dumps({**result.to_json(), "added": added, "present": present, "to": where}))
        return 0
    print(
        f"{len(result.rows)} rows from {result.runs} runs: {added} added to {where}, "
        f"{present} already there"
    )
    return 0
