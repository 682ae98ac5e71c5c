"""Rows from tracked runs: one row per logged step of the loss, inputs from the run's records.

A tracker reader (MLflow, TensorBoard) turns each run into a :class:`RunHistory`; the functions
here turn those into observation rows, the same for every tracker. Plain Python, no tracker
library and no modelling stack, so the rules are tested without a tracker server.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# models.data.INPUTS, repeated so the importers do not load the modelling stack (a test keeps
# the two equal)
INPUTS: tuple[str, ...] = (
    "params",
    "data",
    "steps",
    "compute",
    "label_noise",
    "epochs",
    "unique_data",
)
# ``step`` or ``step*K``: an input taken from the logged step number (K tokens per step, say)
_STEP = re.compile(r"^step(?:\s*\*\s*(?P<k>[0-9.eE+-]+))?$")


class TrackerError(ValueError):
    """Bad import input (unknown experiment, metric, parameter or field), naming ``field``."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RunHistory:
    """One tracked run as the importers see it.

    Attributes
    ----------
    run
        Its identity in the tracker: the MLflow run id, the TensorBoard run directory.
    name
        A readable name for messages (the MLflow run name; the directory).
    values
        Run-level records: parameters and tags (MLflow), hyperparameters (TensorBoard).
    metrics
        Logged series, ``metric -> {step: value}`` (the last value logged at a step); a reader
        may leave the history of a metric nobody asked for empty.
    """

    run: str
    name: str
    values: Mapping[str, str | float | bool]
    metrics: Mapping[str, Mapping[int, float]]


@dataclass(frozen=True)
class Skip:
    """A run (or some of its steps) left out, and why."""

    run: str
    name: str
    reason: str


@dataclass
class ImportResult:
    """Rows (``run``, ``step``, ``loss``, inputs, ``group``) and what was left out."""

    rows: list[dict[str, Any]]
    runs: int
    skipped: list[Skip] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Counts and the per-run reasons, for ``--json``."""
        return {
            "runs": self.runs,
            "rows": len(self.rows),
            "skipped": [{"run": s.run, "name": s.name, "reason": s.reason} for s in self.skipped],
        }


@dataclass(frozen=True)
class Source:
    """Where one mapped field comes from: the step number (times ``scale``) or a record."""

    name: str
    scale: float | None = None

    @property
    def is_step(self) -> bool:
        """True when the field is the logged step number (times ``scale``)."""
        return self.scale is not None


def parse_mapping(mapping: Mapping[str, str]) -> dict[str, Source]:
    """``{field: source}`` checked: fields are inputs or ``group``; ``step[*K]`` is the step."""
    out: dict[str, Source] = {}
    for name, source in mapping.items():
        if name == "loss":
            raise TrackerError("the loss comes from --loss METRIC, not --map", field="loss")
        if name not in (*INPUTS, "group"):
            known = ", ".join((*INPUTS, "group"))
            raise TrackerError(f"cannot map unknown field '{name}' (known: {known})", field=name)
        step = _STEP.match(source.strip())
        if step is None:
            out[name] = Source(source.strip())
            continue
        if name == "group":
            raise TrackerError("group cannot be the step number", field="group")
        try:
            scale = float(step["k"]) if step["k"] else 1.0
        except ValueError:
            raise TrackerError(f"{name}: '{source}' is not step*NUMBER", field=name) from None
        if not math.isfinite(scale) or scale <= 0:
            raise TrackerError(f"{name}: the factor in '{source}' must be > 0", field=name)
        out[name] = Source("step", scale)
    return out


def wanted_records(loss: str, sources: Mapping[str, Source]) -> set[str]:
    """The metric and record names a reader has to load."""
    return {loss, *(s.name for s in sources.values() if not s.is_step)}


def check_known(
    runs: Sequence[RunHistory], loss: str, sources: Mapping[str, Source], where: str
) -> None:
    """Fail naming the first metric or parameter that no run of ``where`` has.

    A name some runs have is not an error: the runs without it are skipped with a reason.
    """
    if not any(loss in r.metrics for r in runs):
        seen = sorted({m for r in runs for m in r.metrics})
        raise TrackerError(
            f"no run in {where} logged the metric '{loss}' (metrics: {_listing(seen)})",
            field="loss",
        )
    for name, source in sources.items():
        if source.is_step:
            continue
        in_values = any(source.name in r.values for r in runs)
        if name == "group" and not in_values:
            seen = sorted({v for r in runs for v in r.values})
            raise TrackerError(
                f"group: no run in {where} has the parameter or tag '{source.name}' "
                f"(known: {_listing(seen)})",
                field="group",
            )
        if not in_values and not any(source.name in r.metrics for r in runs):
            seen = sorted({v for r in runs for v in (*r.values, *r.metrics)})
            raise TrackerError(
                f"{name}: no run in {where} has a parameter, tag or metric '{source.name}' "
                f"(known: {_listing(seen)})",
                field=name,
            )


def rows_from_runs(
    runs: Iterable[RunHistory], loss: str, sources: Mapping[str, Source]
) -> ImportResult:
    """One row per step at which ``loss`` was logged, inputs from ``sources``.

    A run without the loss or a mapped parameter, or with a parameter that is not a valid
    number, is skipped whole with its reason; a step whose value is missing or out of range
    (a NaN loss, step 0 as ``steps``) is left out and counted in the run's reason. No row is
    ever partial.
    """
    result = ImportResult(rows=[], runs=0)
    for run in runs:
        constants, reason = _constants(run, loss, sources)
        if reason:
            result.skipped.append(Skip(run.run, run.name, reason))
            continue
        rows, dropped = _run_rows(run, loss, sources, constants)
        if dropped:
            shown = "; ".join(dropped[:3]) + ("; ..." if len(dropped) > 3 else "")
            total = len(rows) + len(dropped)
            result.skipped.append(
                Skip(run.run, run.name, f"{len(dropped)} of {total} steps left out: {shown}")
            )
        if rows:
            result.runs += 1
            result.rows.extend(rows)
    result.rows.sort(key=lambda r: (r["run"], r["step"]))
    return result


def _constants(
    run: RunHistory, loss: str, sources: Mapping[str, Source]
) -> tuple[dict[str, Any], str]:
    """The run-level field values, or the reason the run cannot give a row."""
    if loss not in run.metrics:
        return {}, f"no metric '{loss}'"
    out: dict[str, Any] = {}
    for name, source in sources.items():
        if source.is_step:
            continue
        if source.name not in run.values:
            # a metric can be an input (logged per step), never the group
            if name == "group" or source.name not in run.metrics:
                return {}, f"no parameter '{source.name}' (for {name})"
            continue
        raw = run.values[source.name]
        if name == "group":
            text = str(raw).strip()
            if not text:
                return {}, f"parameter '{source.name}' (for group) is empty"
            out[name] = text
            continue
        value = _number(raw)
        problem = _invalid(name, value)
        if problem:
            return {}, f"parameter '{source.name}' = {raw!r} (for {name}) {problem}"
        out[name] = value
    return out, ""


def _run_rows(
    run: RunHistory, loss: str, sources: Mapping[str, Source], constants: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    dropped: list[str] = []
    for step, value in sorted(run.metrics[loss].items()):
        row: dict[str, Any] = {"run": run.run, "step": step}
        problem = _invalid("loss", value)
        if problem:
            dropped.append(f"step {step}: loss {value!r} {problem}")
            continue
        for name, source in sources.items():
            if name in constants:
                row[name] = constants[name]
                continue
            if source.is_step:
                x = step * (source.scale or 1.0)
            else:
                series = run.metrics[source.name]
                if step not in series:
                    problem = f"'{source.name}' (for {name}) not logged at this step"
                    break
                x = series[step]
            problem = _invalid(name, x)
            if problem:
                problem = f"{name} {x!r} {problem}"
                break
            row[name] = x
        if problem:
            dropped.append(f"step {step}: {problem}")
            continue
        row["loss"] = value
        rows.append(row)
    return rows, dropped


def _number(raw: str | float | bool) -> float:
    if isinstance(raw, bool):
        return math.nan
    if isinstance(raw, int | float):
        return float(raw)
    try:
        return float(raw.strip())
    except ValueError:
        return math.nan


def _invalid(name: str, value: float) -> str:
    """Why ``value`` cannot be the field ``name`` (the service's own ranges), or ''."""
    if not math.isfinite(value):
        return "is not a finite number"
    if name == "label_noise":
        return "" if 0 <= value < 1 else "must be in [0, 1)"
    if name == "epochs":
        return "" if value >= 1 else "must be >= 1"
    return "" if value > 0 else "must be > 0"


def _listing(names: Sequence[str]) -> str:
    if not names:
        return "none"
    return ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")


def import_runs(
    read: Callable[[Collection[str]], list[RunHistory]],
    loss: str,
    mapping: Mapping[str, str],
    where: str,
) -> ImportResult:
    """Rows from a tracker: ``read`` the records the mapping needs, check they exist, convert.

    ``read`` takes the metric and parameter names wanted and returns the runs' histories;
    ``where`` names the source in errors (an experiment, a log directory).
    """
    sources = parse_mapping(mapping)
    runs = read(wanted_records(loss, sources))
    check_known(runs, loss, sources, where)
    return rows_from_runs(runs, loss, sources)
