"""``bayescale plan``, ``peak``, ``suggest``, ``backtest``: decisions from a fit, and trusting it.

``plan``, ``peak`` and ``suggest`` read a saved fit (numpy over its draws, no sampling);
``backtest`` fits part of a CSV of runs with NUTS and scores its predictions of the rest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import models
from cli.common import fit_args, json_default, load_runs, numbers, run_fit
from models import BayescaleError


def peak_args(p: argparse.ArgumentParser, *, with_json: bool = True) -> None:
    """Options of ``peak`` (local and remote; remote commands share ``--json``)."""
    p.add_argument("--axis", required=True, help="the input swept, e.g. params")
    p.add_argument(
        "--at",
        default="",
        metavar="INPUT=VALUE,...",
        help="the family's other inputs, e.g. data=1e5",
    )
    p.add_argument("--group", help="fitted group; omit (several groups) for a new architecture")
    p.add_argument(
        "--bracket", metavar="LOW,HIGH", help="range of --axis to search (default: the data's)"
    )
    p.add_argument("--prob", type=float, action="append", help="interval probability (repeatable)")
    if with_json:
        p.add_argument("--json", action="store_true", help="print JSON instead of text")


def bracket_arg(text: str | None) -> tuple[float, float] | None:
    """``LOW,HIGH`` as two floats; anything else is an error naming ``bracket``."""
    if text is None:
        return None
    parts = [s.strip() for s in text.split(",")]
    try:
        low, high = (float(v) for v in parts)
    except ValueError:
        raise BayescaleError(f"bracket: expected LOW,HIGH, got '{text}'", field="bracket") from None
    return low, high


def print_peak(record: dict[str, Any]) -> None:
    """A peak record (:meth:`models.Peak.to_record` or the API's answer) as text."""
    at = ", ".join(f"{k}={v:.4g}" for k, v in record["at"].items()) or "no other input"
    who = "a new group" if record["population"] else f"group {record['group']}"
    lo, hi = record["bracket"]
    print(f"peak of the loss along {record['axis']} at {at}, {who}; searched {lo:.4g}-{hi:.4g}")
    print(f"  P(the curve peaks inside that range) = {record['probability']:.3f}")
    if record["median"] is None:
        print("  no posterior draw has an interior maximum there")
        return
    print(f"  location: median {record['median']:.4g} (over the draws with a peak)")
    for tag, bounds in record["intervals"].items():
        print(f"  {tag}%  [{bounds[0]:.4g}, {bounds[1]:.4g}]")


def add_planning_parsers(sub: Any) -> None:
    """Register the four commands on the ``bayescale`` sub-parser collection."""
    p = sub.add_parser(
        "plan", help="compute-optimal model size and data per budget, or compute for a target loss"
    )
    p.add_argument("fit", type=Path, help="fit file written by 'bayescale fit'")
    p.add_argument("--budget", type=float, action="append", default=[], help="FLOPs (repeatable)")
    p.add_argument("--k", type=float, default=6.0, help="FLOPs per parameter per token (C = kND)")
    p.add_argument("--group", help="fitted group; omit (several groups) for a new architecture")
    for name, what in (
        ("max-params", "at most this many parameters"),
        ("max-data", "at most this many tokens"),
        ("fixed-params", "exactly this many parameters (D follows from C)"),
        ("fixed-data", "exactly this many tokens (N follows from C)"),
        ("unique-data", "unique tokens available (data_constrained repeats them; else a cap)"),
        ("tokens-per-step", "tokens per optimizer step, for families counted in steps"),
    ):
        p.add_argument(f"--{name}", type=float, help=what)
    p.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="INPUT=VALUE",
        help="another input of the family held fixed, e.g. label_noise=0.1 (repeatable)",
    )
    p.add_argument("--target", type=float, help="also: the least compute reaching this loss")
    p.add_argument("--q", type=float, default=0.9, help="with --target: probability to reach it")
    p.add_argument("--prob", type=float, default=0.9, help="interval probability (default 0.9)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(handler=_cmd_plan)

    p = sub.add_parser("peak", help="where the fitted loss curve peaks (double descent)")
    p.add_argument("fit", type=Path, help="fit file written by 'bayescale fit'")
    peak_args(p)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_peak)

    p = sub.add_parser("suggest", help="rank candidate runs by what they teach about a target")
    p.add_argument("fit", type=Path, help="fit file written by 'bayescale fit'")
    p.add_argument(
        "--candidate",
        action="append",
        default=[],
        metavar="INPUT=VALUE,...[,cost=C]",
        help="one candidate run, e.g. params=1e9,data=2e10 (repeatable; default cost k*N*D)",
    )
    p.add_argument(
        "--target", required=True, metavar="INPUT=VALUE,...", help="the prediction to sharpen"
    )
    p.add_argument("--group", help="fitted group; omit (several groups) for a new architecture")
    p.add_argument("--k", type=float, default=6.0, help="FLOPs per parameter per token")
    p.add_argument("--n-outcomes", type=int, default=64, help="simulated outcomes per candidate")
    p.add_argument("--prob", type=float, default=0.9, help="interval probability (default 0.9)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(handler=_cmd_suggest)

    p = sub.add_parser(
        "backtest", help="fit the small runs of a CSV, predict the large ones, score the intervals"
    )
    fit_args(p)
    p.add_argument(
        "--below",
        metavar="INPUT=VALUE,...",
        help="train on runs with every named input <= its value, e.g. compute=1e21",
    )
    p.add_argument(
        "--fraction", type=float, help="train on the first fraction of each group's runs"
    )
    p.add_argument("--by", help="with --fraction: the input ordering runs (default: the first)")
    p.add_argument("-o", "--output", type=Path, help="also save the training fit (.nc)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(handler=_cmd_backtest)


def _cmd_plan(args: argparse.Namespace) -> int:
    result = models.load_fit(args.fit)
    plan, reach = models.plan(
        result,
        args.budget,
        target=args.target,
        q=args.q,
        group=args.group,
        k=args.k,
        inputs=numbers(",".join(args.input), "input"),
        probs=(args.prob,),
        seed=args.seed,
        max_params=args.max_params,
        max_data=args.max_data,
        fixed_params=args.fixed_params,
        fixed_data=args.fixed_data,
        unique_data=args.unique_data,
        tokens_per_step=args.tokens_per_step,
    )
    if args.json:
        payload = {**plan.to_dict(), "target_compute": None if reach is None else reach.to_dict()}
        print(json.dumps(payload, indent=2, default=json_default))
        return 0
    out = plan.to_dict()
    tag = models.interval_tag(args.prob)
    print(
        f"compute-optimal allocation for {_who(plan.population, plan.group, result)}; "
        f"C = {plan.k:g} N D; medians with {tag}% intervals"
    )
    for name, what in (("a", "N* ∝ C^a"), ("b", "D* ∝ C^b")):
        if name in out["exponents"]:
            print(f"  exponent {name} ({what}): {_dist(out['exponents'][name], tag, '.3f')}")
    steps = any("steps" in b for b in out["budgets"])
    head = ["budget (FLOPs)", "N* params", "D* tokens", *(["steps"] if steps else []), "L* loss"]
    rows = []
    for b in out["budgets"]:
        rows.append(
            [
                f"{b['budget']:.3g}",
                _dist(b["params"], tag),
                _dist(b["data"], tag),
                *([_dist(b["steps"], tag)] if steps else []),
                _dist(b["loss"], tag, ".4f"),
                f"{b['expected_optimal']['params']:.3g}",
                f"{b['regret']:.2g}",
                f"{b['at_bound']:.0%}",
            ]
        )
    _table([*head, "plan N (min E[L])", "regret", "at bound"], rows)
    print(
        "  plan N: the one size minimising the expected loss; regret: the expected loss lost by "
        "planning with the posterior-median parameters instead"
    )
    if reach is not None:
        kind = "a new run" if reach.new_run else "the mean curve"
        print(
            f"\ntarget loss {reach.target:g} for {kind} with probability {reach.q:g}: "
            f"C = {reach.compute:.3g} FLOPs at N = {reach.params:.3g}, D = {reach.data:.3g} "
            f"(P = {reach.probability:.3f})"
        )
        print(
            f"  per draw, C reaching it: {_dist(reach.per_draw.to_dict(), tag)}; "
            f"never reached by {reach.unreached:.0%} of draws (floor above the target)"
        )
    return 0


def _cmd_peak(args: argparse.Namespace) -> int:
    result = models.load_fit(args.fit)
    peak = models.curve_peak(
        result,
        args.axis,
        numbers(args.at, "at"),
        group=args.group,
        bracket=bracket_arg(args.bracket),
        probs=tuple(args.prob or (0.5, 0.9)),
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(peak.to_record(), indent=2, default=json_default))
    else:
        print_peak(peak.to_record())
    return 0


def _cmd_suggest(args: argparse.Namespace) -> int:
    result = models.load_fit(args.fit)
    if not args.candidate:
        raise BayescaleError("give candidates with --candidate INPUT=VALUE,...", field="candidate")
    candidates = [numbers(c, "candidate") for c in args.candidate]
    target = numbers(args.target, "target")
    answer = models.suggest(
        result,
        candidates,
        target,
        group=args.group,
        k=args.k,
        n_outcomes=args.n_outcomes,
        probs=(args.prob,),
        seed=args.seed,
    )
    out = answer.to_dict()
    if args.json:
        print(json.dumps(out, indent=2, default=json_default))
        return 0
    tag = models.interval_tag(args.prob)
    where = ", ".join(f"{k}={v:.3g}" for k, v in out["target"].items())
    print(
        f"prediction at {where} for {_who(answer.population, answer.group, result)}: variance of "
        f"log loss {_num(out['current_variance'])}, {tag}% width {_num(out['current_width'][tag])}"
    )
    rows = [
        [
            str(c["rank"]),
            ", ".join(f"{k}={v:.3g}" for k, v in c["inputs"].items()),
            f"{c['cost']:.3g}",
            _num(c["expected_reduction"]),
            _num(c["reduction_per_cost"]),
            _num(c["expected_width"][tag]),
            f"{c['ess_mean']:.0f}" + (" (rough)" if c["low_ess"] else ""),
        ]
        for c in out["candidates"]
    ]
    _table(
        ["rank", "candidate", "cost", "E[reduction]", "per cost", f"{tag}% width after", "ESS"],
        rows,
    )
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    data, kwargs = load_runs(args)
    below = numbers(args.below, "below") if args.below is not None else None
    answer = run_fit(
        data, args, models.backtest, below=below, fraction=args.fraction, by=args.by, **kwargs
    )
    if args.output:
        models.save_fit(answer.fit, args.output)
    out = answer.to_dict()
    if args.json:
        print(json.dumps(out, indent=2, default=json_default))
        return 0
    split = ", ".join(f"{k}={v}" for k, v in out["split"].items())
    print(
        f"backtest of {out['family']}: trained on {out['n_train']} runs, scored "
        f"{out['n_test']} held-out runs ({split}); the fit "
        + ("converged" if out["converged"] else "did NOT converge: do not trust these scores")
    )
    from models.backtesting import SCORE_PROBS  # here, not at import: keeps --help instant

    tags = [models.interval_tag(p) for p in SCORE_PROBS]
    head = ["", "n", "rmse_log", "bias_log", "mare", *(f"cov{t}" for t in tags), "IS90"]
    rows = [
        _score_row(name, s, tags)
        for name, s in [("overall", out["overall"]), *out["groups"].items()]
    ]
    _table(head, rows)
    print(
        "  cov<p>: share of held-out losses inside the p% new-run interval (should be ≈ p); "
        "IS90: interval score of the 90% interval (lower is better)"
    )
    if args.output:
        print(f"\nsaved the training fit: {args.output}")
    return 0


def _score_row(name: str, s: dict[str, Any], tags: list[str]) -> list[str]:
    return [
        name,
        str(s["n"]),
        _num(s["rmse_log"]),
        _num(s["mean_log_error"]),
        _num(s["mare"]),
        *(f"{s['coverage'][t]:.2f}" for t in tags),
        _num(s["interval_score"].get("90")),
    ]


def _who(population: bool, group: str | None, result: models.Fit) -> str:
    if population:
        return f"a new architecture (the population of {len(result.groups)} groups)"
    return f"group {group}"


def _num(value: float | None, fmt: str = ".3g") -> str:
    return "inf" if value is None else format(value, fmt)


def _dist(d: dict[str, Any], tag: str, fmt: str = ".3g") -> str:
    lo, hi = d["interval"][tag]
    return f"{_num(d['median'], fmt)} [{_num(lo, fmt)}, {_num(hi, fmt)}]"


def _table(head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
