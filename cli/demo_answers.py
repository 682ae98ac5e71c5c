"""The end of ``bayescale demo``: how big to train, what a target costs, what to run next.

Each answer is one line with its interval, followed by the command that reproduces it, so the
demo ends on the question people come with rather than on a loss at one fixed size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import models
from models.errors import PredictionError

BUDGET = 1e22  # FLOPs: a large training run today
TARGET_Q = 0.9
TOKENS_PER_PARAM = 20  # candidate runs at the Chinchilla ratio
PREDICTION = {"params": 7e9, "data": 1.4e11}  # the run the demo predicts before this step


def decision_lines(
    result: models.Fit, data: models.ScalingData, fit_path: Path, group: str
) -> tuple[list[str], dict[str, Any]]:
    """The three answers for ``group`` as readable lines, and the same as a JSON payload."""
    lines: list[str] = []
    payload: dict[str, Any] = {"group": group, "budget": BUDGET}
    target = _target(data, group)

    plan, _ = models.plan(result, [BUDGET], group=group, probs=(0.9,), seed=0)
    alloc = plan.to_dict()["budgets"][0]
    payload["compute_optimal"] = alloc
    lines.append(
        f"   at {BUDGET:.0e} FLOPs train N* = {_dist(alloc['params'])} params on "
        f"D* = {_dist(alloc['data'])} tokens -> loss {_dist(alloc['loss'], '.3f')}"
    )
    lines.append(f"     from: bayescale plan {fit_path} --group {group} --budget {BUDGET:.0e}")

    try:
        _, reach = models.plan(
            result, [], group=group, target=target, q=TARGET_Q, probs=(0.9,), seed=0
        )
    except PredictionError as exc:  # the floor may sit above the target in some draws
        payload["target_compute"] = {"target": target, "error": str(exc)}
        lines.append(f"   loss {target:g} with {TARGET_Q:.0%} probability: not reachable ({exc})")
    else:
        assert reach is not None  # a target was given
        payload["target_compute"] = reach.to_dict()
        lines.append(
            f"   loss {target:g} (a tenth below the best {group} run) with {TARGET_Q:.0%} "
            f"probability needs C = {reach.compute:.2g} FLOPs (N = {reach.params:.2g}, "
            f"D = {reach.data:.2g})"
        )
    lines.append(
        f"     from: bayescale plan {fit_path} --group {group} --target {target:g} --q {TARGET_Q:g}"
    )

    candidates = _candidates(data, group)
    ranked = models.suggest(result, candidates, PREDICTION, group=group, probs=(0.9,), seed=0)
    answer = ranked.to_dict()
    best = answer["candidates"][0]
    payload["next_experiment"] = best
    where = ", ".join(f"{k}={v:.2g}" for k, v in best["inputs"].items())
    lines.append(
        f"   next experiment worth running: {where} ({best['cost']:.2g} FLOPs) narrows the 90% "
        f"interval of the 7B run's log loss from {answer['current_width']['90']:.3f} to "
        f"{best['expected_width']['90']:.3f} wide, the most per FLOP of {len(candidates)} "
        "candidates"
    )
    options = " ".join(
        "--candidate " + ",".join(f"{k}={v:.3g}" for k, v in c.items()) for c in candidates
    )
    target_point = ",".join(f"{k}={v:g}" for k, v in PREDICTION.items())
    lines.append(
        f"     from: bayescale suggest {fit_path} --group {group} --target {target_point} {options}"
    )
    return lines, payload


def _target(data: models.ScalingData, group: str) -> float:
    """A loss worth asking about: a tenth below the group's best run, to two decimals."""
    best = float(data.loss[data.group == group].min())
    return round(0.9 * best, 2)


def _candidates(data: models.ScalingData, group: str) -> list[dict[str, float]]:
    """Runs one, two and four times the group's largest model, at 20 tokens per parameter."""
    largest = float(data.inputs["params"][data.group == group].max())
    sizes = (float(f"{largest * m:.2g}") for m in (1, 2, 4))
    return [{"params": n, "data": TOKENS_PER_PARAM * n} for n in sizes]


def _dist(d: dict[str, Any], fmt: str = ".2g") -> str:
    lo, hi = d["interval"]["90"]
    return f"{d['median']:{fmt}} [90%: {lo:{fmt}}, {hi:{fmt}}]"
