"""The diagnostics table of a fit page: each number against its threshold, pass or fail.

The thresholds are the ones the fit was judged by, stored with its diagnostics
(``models.diagnostics.Thresholds``); ESS is required per chain, as ``models.diagnose`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """One row: the measured value, the rule it must meet, and whether it does."""

    name: str
    value: float | int | None
    rule: str
    passed: bool | None  # None: not applicable (e.g. R-hat with one chain, no LOO)


def diagnostic_checks(diagnostics: dict[str, Any]) -> list[Check]:
    """Rows for R-hat, bulk and tail ESS, divergences, BFMI and Pareto k."""
    th = diagnostics["thresholds"]
    ess_min = th["ess_per_chain_min"] * diagnostics["chains"]
    multi_chain = diagnostics["chains"] > 1
    k_max = diagnostics.get("pareto_k_max")
    return [
        _check("R-hat (max)", diagnostics["r_hat_max"], "≤", th["r_hat_max"], multi_chain),
        _check("ESS bulk (min)", diagnostics["ess_bulk_min"], "≥", ess_min),
        _check("ESS tail (min)", diagnostics["ess_tail_min"], "≥", ess_min),
        _check("Divergences", diagnostics["divergences"], "≤", th["divergences_max"]),
        _check("BFMI (min)", diagnostics["bfmi_min"], "≥", th["bfmi_min"]),
        _check("Pareto k (max)", k_max, "≤", th["pareto_k_max"], k_max is not None),
    ]


def _check(name: str, value: float | None, op: str, limit: float, applies: bool = True) -> Check:
    if not applies or value is None:
        return Check(name, value, f"{op} {limit:g}", None)
    passed = value <= limit if op == "≤" else value >= limit
    return Check(name, value, f"{op} {limit:g}", bool(passed))


def pareto_advice(diagnostics: dict[str, Any], checks: list[Check]) -> str:
    """What to do when the sampler converged but LOO's Pareto k failed, or ''.

    The two verdicts answer different questions, and side by side (green "converged", red k)
    they read as a contradiction without this.
    """
    failed = any(c.name.startswith("Pareto k") and c.passed is False for c in checks)
    if not (failed and diagnostics.get("converged")):
        return ""
    return (
        "Converged is about the sampler: the chains agree and explored the posterior, so the "
        "parameters and predictions can be read. The red Pareto k is about the data: some runs "
        "are so influential or outlying that leaving one out changes the fit, and the LOO "
        "score (ELPD) is unreliable. Look at those runs for a diverged or mislabelled one, "
        "refit with likelihood student_t to make the fit robust to them, and compare models "
        "with a backtest rather than LOO."
    )
