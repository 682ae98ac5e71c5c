"""Observations of a loss surface, validated, with the reference scales the models use.

Canonical inputs (all strictly positive except ``label_noise``, which may be 0):

=============  =====================================================
``params``     model size N (parameters, or features/width)
``data``       training data D (tokens or samples seen)
``steps``      training time t (optimizer steps or epochs)
``compute``    training compute C (FLOPs)
``label_noise``  fraction of corrupted labels, in [0, 1)
``epochs``     passes over the unique data (>= 1)
``unique_data``  unique tokens or samples U (D = epochs x U)
=============  =====================================================

Read from a table, a count may carry a magnitude suffix (``125m``, ``1.3B``, ``2T``:
:func:`parse_count`). The target ``loss`` must be > 0 (the likelihood is on log loss).
``group`` is the architecture or model family; when absent every row is one group. ``run``
(optional) names the training run a row was measured in: checkpoints of one run share a
run-level effect in the model instead of counting as independent runs; a row without a run
(None) is a run of its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from models.defaults import DEFAULT_MAX_PER_RUN
from models.errors import DataError

INPUTS: tuple[str, ...] = (
    "params",
    "data",
    "steps",
    "compute",
    "label_noise",
    "epochs",
    "unique_data",
)
# The axis along which "larger scale" lies, for leave-future-out and auto backtests: the first
# of these the data has (compute when present).
SCALE_AXES: tuple[str, ...] = ("compute", "steps", "data", "params", "label_noise")


# Products of two inputs measured as an axis of their own where both are inputs (compute, up to
# a constant): a point inside the N and D ranges taken one at a time can lie far beyond the
# largest budget trained. The first pair present is used.
PRODUCT_AXES: dict[str, tuple[str, str]] = {
    "params*data": ("params", "data"),
    "params*steps": ("params", "steps"),
}


def product_axis(names: Iterable[str]) -> str | None:
    """The first of :data:`PRODUCT_AXES` whose two inputs are both in ``names``."""
    present = set(names)
    return next((k for k, (a, b) in PRODUCT_AXES.items() if a in present and b in present), None)


def has_axis(x: Mapping[str, Any], name: str) -> bool:
    """Whether ``x`` holds input ``name``, or both inputs of the product axis ``name``."""
    return all(f in x for f in PRODUCT_AXES.get(name, (name,)))


def log_axis(x: Mapping[str, Any], name: str, log: Any = np.log) -> np.ndarray:
    """``log`` of input ``name`` of ``x``, or of the product of a :data:`PRODUCT_AXES` pair."""
    factors = PRODUCT_AXES.get(name, (name,))
    return np.asarray(sum(log(np.asarray(x[f], dtype=float)) for f in factors))


def scale_axis(inputs: Iterable[str]) -> str:
    """The first of :data:`SCALE_AXES` among ``inputs`` (else the first input)."""
    names = list(inputs)
    return next((n for n in SCALE_AXES if n in names), names[0])


# The resources along which loss falls; label noise and epochs of repeated data raise it.
TREND_INPUTS: tuple[str, ...] = ("params", "data", "steps", "compute")


def trend_axis(varying: Iterable[str]) -> str | None:
    """The axis along which a loss should fall, from the inputs that vary; None without one.

    ``compute`` when it varies, else the product N·D or N·t where both vary (along N or D alone
    an IsoFLOP slice rises on one side), else the one varying input of :data:`TREND_INPUTS`.
    """
    present = set(varying)
    scale = [n for n in TREND_INPUTS if n in present]
    if not scale:
        return None
    return "compute" if "compute" in scale else product_axis(scale) or scale[0]


# Columns named in a message about columns; a wide export lists hundreds.
COLUMNS_SHOWN = 5


def quoted_names(columns: Sequence[str]) -> str:
    """``'a', 'b' and 3 more``: at most :data:`COLUMNS_SHOWN` names."""
    names = ", ".join(f"'{c}'" for c in columns[:COLUMNS_SHOWN])
    if len(columns) > COLUMNS_SHOWN:
        names += f" and {len(columns) - COLUMNS_SHOWN} more"
    return names


def csv_delimiter(text: str) -> str:
    """The field separator of CSV ``text``, read off its header line.

    A comma unless the header has none and has a tab or a semicolon: spreadsheets save
    tab-separated text, and semicolons where the comma is the decimal mark. A header of one
    column has none of them and is read with commas.
    """
    end = text.find("\n")  # not partition: an uploaded body of megabytes is not copied
    header = (text if end < 0 else text[:end]).lstrip("\ufeff")
    if "," in header:
        return ","
    return next((d for d in ("\t", ";") if d in header), ",")


def read_csv(source: str | Path | IO[Any], **options: Any) -> pd.DataFrame:
    """``pandas.read_csv`` of a path or an open file, the separator told by :func:`csv_delimiter`.

    A source whose first line cannot be read here as UTF-8 text (``runs.csv.gz``, another
    encoding, a URL, a missing file, a stream that cannot be rewound) is left to pandas with
    commas, as before separators were told: pandas reads it or raises its own error.
    """
    line = _first_line(source)
    sep = "," if line is None else csv_delimiter(line)
    frame: pd.DataFrame = pd.read_csv(source, sep=sep, **options)
    return frame


def _first_line(source: str | Path | IO[Any]) -> str | None:
    """The first line of a path or a seekable open file (rewound after), or None."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, encoding="utf-8-sig") as f:
                return f.readline()
        start = source.tell()
        line = source.readline()
        source.seek(start)
    except (OSError, UnicodeDecodeError, AttributeError, ValueError):
        return None  # io.UnsupportedOperation is an OSError
    return line.decode("utf-8-sig", "replace") if isinstance(line, bytes) else str(line)


def header_hint(columns: Iterable[object]) -> str:
    """A sentence for an error about a missing column, when the header is a row of numbers.

    A CSV saved without a header (two columns of x and loss, as plot digitisers write them) is
    read with its first data row as the column names; the missing-column error alone would
    not say why.
    """
    names = [str(c).strip() for c in columns]
    if not names:
        return ""
    for name in names:
        try:
            float(name)
        except ValueError:
            return ""
    return (
        f". The header is a row of numbers ({quoted_names(names)}): the file seems to have no "
        "header row; add one naming each column (e.g. 'data,loss')"
    )


_NON_NEGATIVE = frozenset({"label_noise"})
DEFAULT_GROUP = "all"


@dataclass(frozen=True)
class Scales:
    """Reference scales: model units are ``input / inputs[name]`` and ``loss / loss``.

    Defaults are the geometric mean of each input and the smallest observed loss, so exponents are
    unchanged, amplitudes are O(1) and a floor ``E`` below 1 lies below the best observed run.
    """

    inputs: Mapping[str, float]
    loss: float

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"inputs": dict(self.inputs), "loss": self.loss}

    @classmethod
    def from_dict(cls, obj: Mapping[str, object]) -> Scales:
        """Inverse of :meth:`to_dict`."""
        inputs = obj["inputs"]
        assert isinstance(inputs, Mapping)
        return cls({str(k): float(v) for k, v in inputs.items()}, float(obj["loss"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ScalingData:
    """Validated observations: canonical input columns, ``loss``, and a ``group`` per row."""

    inputs: Mapping[str, np.ndarray]
    loss: np.ndarray
    # Names per row, any sequence, or None for one group; __post_init__ turns it into an object
    # array of str either way.
    group: Any = None
    meta: pd.DataFrame | None = None
    warnings: tuple[str, ...] = field(default=())
    # Training run per row (str, or None for a row of no run), or None when no row has a run;
    # __post_init__ turns it into an object array (or None).
    run: Any = None
    # Metadata columns of numbers that tell apart rows the fit reads as one point
    # (unused_columns): an input the user did not name, reported with every fit of these rows.
    unused: tuple[str, ...] = ()
    # Text columns whose labels split the rows into curves the fit reads as one
    # (pooled_columns): a group or run the user did not name, reported with every fit.
    pooled: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        loss = np.asarray(self.loss, dtype=np.float64).reshape(-1)
        object.__setattr__(self, "loss", loss)
        object.__setattr__(
            self,
            "inputs",
            {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in self.inputs.items()},
        )
        group = np.full(len(loss), DEFAULT_GROUP) if self.group is None else self.group
        object.__setattr__(self, "group", np.asarray([str(g) for g in group], dtype=object))
        n = len(loss)
        if n == 0:
            raise DataError("no observations", field="loss")
        for name, values in self.inputs.items():
            if name not in INPUTS:
                raise DataError(f"unknown input '{name}' (known: {', '.join(INPUTS)})", field=name)
            if len(values) != n:
                raise DataError(f"input '{name}' has {len(values)} values for {n} rows", field=name)
            _check_values(name, values, allow_zero=name in _NON_NEGATIVE)
        _check_values("loss", self.loss, allow_zero=False)
        if "label_noise" in self.inputs and np.any(self.inputs["label_noise"] >= 1):
            raise DataError(
                _rows_message("label_noise", self.inputs["label_noise"] >= 1, "must be < 1"),
                field="label_noise",
            )
        if "epochs" in self.inputs and np.any(self.inputs["epochs"] < 1):
            raise DataError(
                _rows_message("epochs", self.inputs["epochs"] < 1, "must be >= 1"), field="epochs"
            )
        if len(self.group) != n:
            raise DataError("group has the wrong length", field="group")
        object.__setattr__(self, "run", _check_runs(self.run, n))
        dupes = self._duplicate_rows()
        if dupes:
            shown = ", ".join(str(i) for i in dupes[:10])
            object.__setattr__(
                self, "warnings", (*self.warnings, f"{len(dupes)} duplicate rows (rows {shown})")
            )

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        mapping: Mapping[str, str] | None = None,
        *,
        group_col: str | None = None,
        run_col: str | None = None,
        flops_per_param_token: float | None = None,
    ) -> ScalingData:
        """Build from a DataFrame.

        Parameters
        ----------
        frame
            One row per observation.
        mapping
            Canonical name -> column, e.g. ``{"loss": "final_loss", "params": "Model Size"}``.
            Columns already named canonically need no entry.
        group_col
            Column holding the architecture/family; absent means one group.
        run_col
            Column naming the training run of each row (checkpoints of one run); absent means
            every row is a run of its own. Numbers are read as names (run 7 is ``"7"``).
        flops_per_param_token
            If given (6 for dense transformers), fill a missing ``data`` as C / (k N) or a
            missing ``compute`` as k N D.
        """
        mapping = dict(mapping or {})
        for canonical in mapping:
            if canonical not in (*INPUTS, "loss", "group", "run"):
                raise DataError(f"cannot map unknown field '{canonical}'", field=canonical)
        if "group" in mapping:
            mapped_group = mapping.pop("group")
            group_col = group_col or mapped_group
        if "run" in mapping:
            mapped_run = mapping.pop("run")
            run_col = run_col or mapped_run
        columns = {name: mapping.get(name, name) for name in (*INPUTS, "loss")}
        for name, col in mapping.items():
            if col not in frame.columns:
                raise DataError(
                    f"column '{col}' (for {name}) not in the data{header_hint(frame.columns)}",
                    field=name,
                )
        if columns["loss"] not in frame.columns:
            raise DataError(
                f"no 'loss' column (map one with loss=COLUMN){header_hint(frame.columns)}",
                field="loss",
            )
        inputs = {
            name: _as_float(frame[col], name)
            for name, col in columns.items()
            if name != "loss" and col in frame.columns
        }
        if flops_per_param_token is not None:
            k = float(flops_per_param_token)
            if "data" not in inputs and {"compute", "params"} <= set(inputs):
                inputs["data"] = inputs["compute"] / (k * inputs["params"])
            if "compute" not in inputs and {"data", "params"} <= set(inputs):
                inputs["compute"] = k * inputs["params"] * inputs["data"]
        if group_col is not None:
            if group_col not in frame.columns:
                raise DataError(f"group column '{group_col}' not in the data", field="group")
            empty = frame[group_col].isna() | (frame[group_col].astype(str).str.strip() == "")
            if empty.any():
                raise DataError(_rows_message("group", empty.to_numpy(), "is empty"), field="group")
            group = frame[group_col].astype(str).to_numpy()
        else:
            group = None
        run = None if run_col is None else _run_column(frame, run_col)
        # the run column stays in meta too: it was metadata before runs were modelled
        used = {columns["loss"], group_col, *(columns[n] for n in inputs if n in columns)}
        meta_cols = [c for c in frame.columns if c not in used]
        meta = frame[meta_cols].reset_index(drop=True) if meta_cols else None
        loss = _as_float(frame[columns["loss"]], "loss")
        read = None if meta is None else meta.drop(columns=[run_col], errors="ignore")
        return cls(
            inputs,
            loss,
            group,
            meta,
            run=run,
            unused=unused_columns(read, inputs, group),
            pooled=pooled_columns(read, inputs, loss, group),
        )

    @classmethod
    def from_csv(
        cls,
        path: str | Path | IO[Any],
        mapping: Mapping[str, str] | None = None,
        *,
        group_col: str | None = None,
        run_col: str | None = None,
        flops_per_param_token: float | None = None,
    ) -> ScalingData:
        """Read a CSV file (comma, tab or semicolon: :func:`csv_delimiter`); :meth:`from_frame`."""
        try:
            frame = read_csv(path)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise DataError(f"cannot read {path}: {exc}", field="file") from None
        return cls.from_frame(
            frame,
            mapping,
            group_col=group_col,
            run_col=run_col,
            flops_per_param_token=flops_per_param_token,
        )

    # -- views ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.loss)

    @property
    def groups(self) -> list[str]:
        """Distinct groups, sorted."""
        return sorted(set(self.group.tolist()))

    @property
    def group_index(self) -> np.ndarray:
        """Row -> position of its group in :attr:`groups`."""
        lookup = {g: i for i, g in enumerate(self.groups)}
        return np.array([lookup[g] for g in self.group], dtype=np.int64)

    @property
    def runs(self) -> list[str]:
        """Runs with at least two rows, sorted: the runs the model gives an effect.

        A run of one row is modelled like a row of no run: its effect cannot be told apart from
        the row's noise (and a per-row id column must not turn into one effect per row). A lone
        run of many rows gets no effect either: one run's offset cannot be told apart from the
        curve's level, and with no second run the scale of the run-to-run spread is its prior
        alone; sampled, the two made a funnel (43 divergent transitions fitting one run's log,
        BENCHMARKS.md). Such data fit as data without runs (:attr:`logged_runs` still thins it).
        """
        long = self.logged_runs
        return long if len(long) >= 2 else []

    @property
    def logged_runs(self) -> list[str]:
        """Every run with at least two rows, sorted (what :func:`models.runs.thin_runs` thins)."""
        if self.run is None:
            return []
        names, counts = np.unique(
            [r for r in self.run.tolist() if r is not None], return_counts=True
        )
        return [str(n) for n, c in zip(names, counts, strict=True) if c >= 2]

    @property
    def run_index(self) -> np.ndarray:
        """Row -> position of its run in :attr:`runs`; ``len(runs)`` for no run or a one-row run."""
        runs = self.runs
        lookup = {r: i for i, r in enumerate(runs)}
        if self.run is None:
            return np.full(len(self), len(runs), dtype=np.int64)
        return np.array([lookup.get(r, len(runs)) for r in self.run], dtype=np.int64)

    def require(self, inputs: Iterable[str], family: str) -> None:
        """Raise if an input the family needs is missing."""
        missing = [name for name in inputs if name not in self.inputs]
        if missing:
            raise DataError(
                f"family '{family}' needs input(s) {', '.join(missing)}; the data has "
                f"{', '.join(self.inputs) or 'none'}{self.unused_hint()}",
                field=missing[0],
            )

    def unused_hint(self) -> str:
        """A sentence naming the :attr:`unused` columns, for an error about missing inputs.

        A log with a ``step`` column (not ``steps``) reads no input at all; the refusal should
        say which columns could be one. Empty when there are none.
        """
        if not self.unused:
            return ""
        return (
            f". Column(s) {quoted_names(self.unused)} vary but were read as metadata: map one "
            f"to an input ({', '.join(INPUTS)})"
        )

    @property
    def varying_inputs(self) -> list[str]:
        """Inputs whose values are not all equal (canonical order)."""
        return [n for n in INPUTS if n in self.inputs and np.ptp(self.inputs[n]) > 0]

    def subset(self, mask: np.ndarray) -> ScalingData:
        """Rows where ``mask`` is true (e.g. a fit-small / predict-large split)."""
        mask = np.asarray(mask, dtype=bool)
        meta = self.meta[mask].reset_index(drop=True) if self.meta is not None else None
        return ScalingData(
            {k: v[mask] for k, v in self.inputs.items()},
            self.loss[mask],
            self.group[mask],
            meta,
            run=None if self.run is None else self.run[mask],
            unused=self.unused,
            pooled=self.pooled,
        )

    def default_scales(self, inputs: Iterable[str]) -> Scales:
        """Geometric mean of each input (1 for ``label_noise``, a fraction); smallest loss.

        ``unique_data`` counts what ``data`` counts, so with both it takes ``data``'s reference:
        laws read their ratio (epochs, repetitions), which model units must leave unchanged.
        """
        scales = {
            n: 1.0 if n in _NON_NEGATIVE else float(np.exp(np.mean(np.log(self.inputs[n]))))
            for n in inputs
        }
        if "data" in scales and "unique_data" in scales:
            scales["unique_data"] = scales["data"]
        return Scales(scales, float(self.loss.min()))

    def log_ranges(
        self, inputs: Iterable[str], mask: np.ndarray | None = None
    ) -> dict[str, tuple[float, float]]:
        """Observed (min, max) of log input over the rows in ``mask`` (all rows by default).

        Used to label extrapolation. Scale inputs only: ``label_noise`` is a fraction (may be
        0), not a scale to extrapolate. With N and D (or N and steps) among ``inputs``, their
        product too (:data:`PRODUCT_AXES`), so a budget beyond the data is labelled so.
        """
        names = [n for n in inputs if n not in _NON_NEGATIVE]
        product = product_axis(names)
        rows = slice(None) if mask is None else mask
        out = {}
        for n in names if product is None else [*names, product]:
            logs = log_axis(self.inputs, n)[rows]
            out[n] = (float(logs.min()), float(logs.max()))
        return out

    def to_frame(self) -> pd.DataFrame:
        """Canonical columns plus ``loss``, ``group`` and (with runs) ``run``."""
        frame = pd.DataFrame(dict(self.inputs))
        frame["loss"] = self.loss
        frame["group"] = self.group
        if self.run is not None:
            frame["run"] = self.run
        return frame

    def digest(self) -> str:
        """sha256 of the canonical columns: identical data gives an identical hash."""
        h = hashlib.sha256()
        for name in sorted(self.inputs):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.inputs[name], dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.loss, dtype=np.float64).tobytes())
        h.update("\x1f".join(str(g) for g in self.group).encode())
        if self.run is not None:  # without runs the hash is what it always was
            # \x1e marks a row of no run (a run name cannot contain it unnoticed: names are text)
            h.update(b"run")
            h.update("\x1f".join("\x1e" if r is None else r for r in self.run).encode())
        return h.hexdigest()

    def _duplicate_rows(self) -> list[int]:
        frame = pd.DataFrame(dict(self.inputs))
        frame["loss"], frame["group"] = self.loss, self.group
        if self.run is not None:
            frame["run"] = self.run
        return [int(i) for i in np.flatnonzero(frame.duplicated().to_numpy())]


def _check_runs(run: Any, n: int) -> np.ndarray | None:
    """Run names as an object array (None for a row of no run), or None when no row has one."""
    if run is None:
        return None
    values = list(run)
    if len(values) != n:
        raise DataError(f"run has {len(values)} values for {n} rows", field="run")
    not_text = np.array([v is not None and not isinstance(v, str) for v in values])
    if not_text.any():
        raise DataError(_rows_message("run", not_text, "is not a string"), field="run")
    empty = np.array([isinstance(v, str) and not v.strip() for v in values])
    if empty.any():
        raise DataError(_rows_message("run", empty, "is empty"), field="run")
    if all(v is None for v in values):
        return None
    return np.asarray(values, dtype=object)


def _run_column(frame: pd.DataFrame, run_col: str) -> np.ndarray:
    """A run column as names: numbers become text (run 7 is "7"), a blank cell is an error."""
    if run_col not in frame.columns:
        raise DataError(f"run column '{run_col}' not in the data", field="run")
    column = frame[run_col]
    empty = column.isna() | (column.astype(str).str.strip() == "")
    if empty.any():
        raise DataError(_rows_message("run", empty.to_numpy(), "is empty"), field="run")
    return np.asarray([str(v) for v in column], dtype=object)


def unused_columns(
    meta: pd.DataFrame | None, inputs: Mapping[str, np.ndarray], group: Any = None
) -> tuple[str, ...]:
    """Metadata columns that tell apart rows the fit reads as one point, in their order.

    Such a column holds only finite numbers and takes different values on rows with the same
    inputs and group: a context length or a token count under a name bayescale does not know,
    which makes the fit read those rows as repeats of one measurement and nothing else says so.
    A learning-rate sweep at fixed sizes matches too, which deserves the same remark. A column
    that only describes the point (width and depth beside ``params``) is not named, nor a row
    number (0..n-1 or 1..n) or a column without a header (pandas names it ``Unnamed: i``: the
    index a saved DataFrame writes).
    """
    if meta is None or len(meta) < 2:
        return ()
    point = pd.DataFrame(
        {f"input {k}": np.asarray(v) for k, v in inputs.items()}, index=range(len(meta))
    )
    point["group"] = DEFAULT_GROUP if group is None else np.asarray(group, dtype=object)
    same_point = point.groupby(list(point.columns), sort=False).ngroup().to_numpy()
    out = []
    row_number = np.arange(len(meta), dtype=np.float64)
    for column in meta.columns:
        if str(column).startswith("Unnamed: "):
            continue
        values = pd.to_numeric(meta[column], errors="coerce").to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            continue
        if np.array_equal(values, row_number) or np.array_equal(values, row_number + 1):
            continue
        spread = pd.Series(values).groupby(same_point).nunique()
        if (spread > 1).any():
            out.append(str(column))
    return tuple(out)


# A level of a text column is a curve when it holds this many scale values or more and at most
# this share of its rows repeat another row's inputs (a sweep id over several learning rates
# repeats every checkpoint: 50-90 % of Misfitting's; OpenCLIP's zero-shot table, one downstream
# dataset per label, repeats 12.5 %: two upstream datasets at one size); the column splits the
# rows into curves when levels that are curves hold at least this share of the rows. Columns
# of more levels are identifiers, not groups.
CURVE_SCALE_VALUES = 3
CURVE_REPEATS_MAX = 0.25
CURVE_ROWS_SHARE = 0.8
CURVE_LEVELS_MAX = 1000

# A curve (a group's rows at one value of every other input) this long along training steps or
# tokens is a training log, not a sweep of separate runs: 10x the checkpoints a run is thinned to.
CHECKPOINT_ROWS = 300


def unmarked_checkpoints(data: ScalingData) -> dict[str, int]:
    """Groups holding a training log given without a run column, with their row counts.

    Without a run each row is an independent run: 44,000 logged steps of one run are fitted as
    44,000 runs, with noise taken as independent (intervals too narrow) and every row paid for
    (a fit of hours). A group is named when, at one value of every other input, it has
    :data:`CHECKPOINT_ROWS` rows or more along ``steps`` (else ``data``, tokens seen) at
    ``DEFAULT_MAX_PER_RUN`` distinct values or more; compute is not such an input (it grows
    along a run).
    """
    if data.run is not None:
        return {}
    varying = data.varying_inputs
    axis = next((a for a in ("steps", "data") if a in varying), None)
    if axis is None:
        return {}
    # compute grows along a run with its tokens: it is not another setting of the curve
    others = [data.inputs[n] for n in varying if n not in (axis, "compute")]
    out: dict[str, int] = {}
    for g in data.groups:
        rows = data.group == g
        if rows.sum() < CHECKPOINT_ROWS:
            continue
        keys = np.stack([o[rows] for o in others], axis=1) if others else np.zeros((rows.sum(), 1))
        _, curve, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        along = data.inputs[axis][rows]
        for c in np.flatnonzero(counts >= CHECKPOINT_ROWS):
            # a curve along the axis, not repeats of one point (repeated seeds at one step)
            if len(np.unique(along[curve.ravel() == c])) >= DEFAULT_MAX_PER_RUN:
                out[str(g)] = int(rows.sum())
                break
    return out


def pooled_columns(
    meta: pd.DataFrame | None,
    inputs: Mapping[str, np.ndarray],
    loss: np.ndarray,
    group: Any = None,
) -> tuple[str, ...]:
    """Text columns whose labels split the rows into curves the fit reads as one, in order.

    ``bayescale example``'s CSV fitted without naming ``architecture`` as the group is one
    pooled curve over four architectures; the checkpoints of several runs without their run
    column are independent points of one curve. A column is named when its labels (within the
    given groups) split at least one group, and the levels that are curves (see
    :data:`CURVE_SCALE_VALUES`) hold most rows, and two of them overlap in both the range of
    scale (:func:`trend_axis`) and the range of loss. Not named: numbers (see
    :func:`unused_columns`), a column with a blank cell, a label that only renames an input
    (a model name beside ``params``), one fixed by the group, an identifier with more than
    half as many levels as rows, and labels of loss bins (a digitised plot's colours), whose
    curves never share a range of loss.
    """
    n = 0 if meta is None else len(meta)
    if meta is None or n < 2 * CURVE_SCALE_VALUES:
        return ()
    varying = [k for k, v in inputs.items() if np.ptp(np.asarray(v)) > 0]
    axis = trend_axis(varying)
    if axis is None:
        return ()
    groups = pd.Series(
        DEFAULT_GROUP if group is None else np.asarray(group, dtype=object), index=range(n)
    ).astype(str)
    rows = pd.DataFrame({k: np.asarray(inputs[k], dtype=np.float64) for k in varying})
    rows["scale"] = log_axis(inputs, axis)
    rows["loss"] = np.asarray(loss, dtype=np.float64)
    out = []
    for column in meta.columns:
        labels = _text_labels(meta[column])
        if labels is None:
            continue
        level = pd.Series(pd.factorize(groups + "\x00" + labels)[0], index=range(n))
        n_levels = int(level.max()) + 1
        if not groups.nunique() < n_levels <= min(n // 2, CURVE_LEVELS_MAX):
            continue
        if _renames_an_input(level, rows[varying]):
            continue
        if _overlapping_curves(level, rows, varying, groups):
            out.append(str(column))
    return tuple(out)


def _text_labels(column: pd.Series) -> pd.Series | None:
    """The column as text labels, or None for numbers, a blank cell or a headerless index."""
    if str(column.name).startswith("Unnamed: ") or column.isna().any():
        return None
    if pd.to_numeric(column, errors="coerce").notna().all():
        return None
    labels = column.astype(str).reset_index(drop=True)
    return None if (labels.str.strip() == "").any() else labels


def _renames_an_input(level: pd.Series, points: pd.DataFrame) -> bool:
    """Whether some input takes one value per level and each of its values lies in one level."""
    for name in points.columns:
        values = points[name]
        one_value = values.groupby(level).nunique().max() == 1
        if one_value and level.groupby(values).nunique().max() == 1:
            return True
    return False


def _overlapping_curves(
    level: pd.Series, rows: pd.DataFrame, varying: list[str], groups: pd.Series
) -> bool:
    """Whether curve levels hold most rows and two of one group share ranges of scale and loss."""
    by = rows.assign(group=groups).groupby(level)
    repeated = rows.assign(level=level).duplicated(subset=["level", *varying])
    repeats = repeated.groupby(level).mean()
    curve = (
        (by["scale"].nunique() >= CURVE_SCALE_VALUES)
        & (by["loss"].nunique() >= 2)
        & (repeats <= CURVE_REPEATS_MAX)
    )
    if curve.sum() < 2 or by.size()[curve].sum() < CURVE_ROWS_SHARE * len(rows):
        return False
    span = by.agg(
        group=("group", "first"),
        scale_lo=("scale", "min"), scale_hi=("scale", "max"),
        loss_lo=("loss", "min"), loss_hi=("loss", "max"),
    )[curve]  # fmt: skip
    same_group = span["group"].to_numpy()
    overlap = same_group[:, None] == same_group[None, :]
    for what in ("scale", "loss"):
        lo, hi = span[f"{what}_lo"].to_numpy(), span[f"{what}_hi"].to_numpy()
        overlap &= np.minimum(hi[:, None], hi[None, :]) > np.maximum(lo[:, None], lo[None, :])
    np.fill_diagonal(overlap, False)
    return bool(overlap.any())


def guess_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Field (an input, ``loss``, ``group``, ``run``) -> the column that most likely holds it.

    Columns named like a field are that field. Without a ``group`` column, the first column that
    is not numeric and repeats its values (2 to n/2 distinct: an architecture, not a run id)
    is the group, as ``bayescale example`` writes ``architecture``. A guess, for a form to
    preselect: the caller confirms it (``from_frame``'s ``mapping``/``group_col``).
    """
    guess = {name: name for name in (*INPUTS, "loss", "group", "run") if name in frame.columns}
    if "group" not in guess:
        for column in frame.columns:
            if column in guess.values():
                continue
            values = frame[column].dropna()
            numeric = pd.to_numeric(values, errors="coerce").notna().all()
            if not numeric and 2 <= values.nunique() <= max(len(frame) // 2, 2):
                guess["group"] = str(column)
                break
    return guess


# A count written with a magnitude suffix, as model and dataset sizes often are ("125m",
# "1.3B", "2T"): k thousand, M million (never milli), B or G billion, T trillion.
_COUNT = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBgGtT])\s*")
_MAGNITUDE = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
# Inputs that count things; label_noise is a fraction and loss a value, never suffixed.
COUNT_INPUTS = frozenset(INPUTS) - {"label_noise"}


def parse_count(text: str) -> float | None:
    """``"1.3B"`` -> 1.3e9: a number with a magnitude suffix (k, M, B/G, T); None otherwise."""
    match = _COUNT.fullmatch(text)
    if match is None:
        return None
    return float(match.group(1)) * _MAGNITUDE[match.group(2).lower()]


def _as_float(column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    bad = np.isnan(values) & column.notna().to_numpy()
    if bad.any() and name in COUNT_INPUTS:
        # one vectorised match over the cells that are not plain numbers: reading 10^5 suffixed
        # sizes took 0.66 s matched one cell at a time, 0.27 s so
        parts = column[bad].astype(str).str.extract(f"^{_COUNT.pattern}$")
        matched = parts[0].notna().to_numpy()
        scale = parts[1][matched].str.lower().map(_MAGNITUDE).to_numpy(dtype=np.float64)
        where = np.flatnonzero(bad)[matched]
        values[where] = parts[0][matched].astype(float).to_numpy() * scale
        bad[where] = False
    if bad.any():
        raise DataError(_rows_message(name, bad, "is not a number"), field=name)
    return values


def _check_values(name: str, values: np.ndarray, *, allow_zero: bool) -> None:
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise DataError(
            _rows_message(name, ~np.isfinite(values), "is missing or not finite"), field=name
        )
    bad = values < 0 if allow_zero else values <= 0
    if bad.any():
        rule = "must be >= 0" if allow_zero else "must be > 0"
        raise DataError(_rows_message(name, bad, rule), field=name)


def _rows_message(name: str, bad: np.ndarray, rule: str) -> str:
    rows = np.flatnonzero(bad)
    shown = ", ".join(str(int(i)) for i in rows[:10]) + (" ..." if len(rows) > 10 else "")
    return f"'{name}' {rule} in {len(rows)} row(s): {shown}"
