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

The target ``loss`` must be > 0 (the likelihood is on log loss). ``group`` is the architecture or
model family; when absent every row is one group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
        flops_per_param_token
            If given (6 for dense transformers), fill a missing ``data`` as C / (k N) or a
            missing ``compute`` as k N D.
        """
        mapping = dict(mapping or {})
        for canonical in mapping:
            if canonical not in (*INPUTS, "loss", "group"):
                raise DataError(f"cannot map unknown field '{canonical}'", field=canonical)
        if "group" in mapping:
            mapped_group = mapping.pop("group")
            group_col = group_col or mapped_group
        columns = {name: mapping.get(name, name) for name in (*INPUTS, "loss")}
        for name, col in mapping.items():
            if col not in frame.columns:
                raise DataError(f"column '{col}' (for {name}) not in the data", field=name)
        if columns["loss"] not in frame.columns:
            raise DataError("no 'loss' column (map one with loss=COLUMN)", field="loss")
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
        used = {columns["loss"], group_col, *(columns[n] for n in inputs if n in columns)}
        meta_cols = [c for c in frame.columns if c not in used]
        meta = frame[meta_cols].reset_index(drop=True) if meta_cols else None
        return cls(inputs, _as_float(frame[columns["loss"]], "loss"), group, meta)

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        mapping: Mapping[str, str] | None = None,
        *,
        group_col: str | None = None,
        flops_per_param_token: float | None = None,
    ) -> ScalingData:
        """Read a CSV file and build with :meth:`from_frame`."""
        try:
            frame = pd.read_csv(path)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise DataError(f"cannot read {path}: {exc}", field="file") from None
        return cls.from_frame(
            frame, mapping, group_col=group_col, flops_per_param_token=flops_per_param_token
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

    def require(self, inputs: Iterable[str], family: str) -> None:
        """Raise if an input the family needs is missing."""
        missing = [name for name in inputs if name not in self.inputs]
        if missing:
            raise DataError(
                f"family '{family}' needs input(s) {', '.join(missing)}; the data has "
                f"{', '.join(self.inputs) or 'none'}",
                field=missing[0],
            )

    def subset(self, mask: np.ndarray) -> ScalingData:
        """Rows where ``mask`` is true (e.g. a fit-small / predict-large split)."""
        mask = np.asarray(mask, dtype=bool)
        meta = self.meta[mask].reset_index(drop=True) if self.meta is not None else None
        return ScalingData(
            {k: v[mask] for k, v in self.inputs.items()}, self.loss[mask], self.group[mask], meta
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
        0), not a scale to extrapolate.
        """
        out = {}
        for n in inputs:
            if n not in _NON_NEGATIVE:
                logs = np.log(self.inputs[n] if mask is None else self.inputs[n][mask])
                out[n] = (float(logs.min()), float(logs.max()))
        return out

    def to_frame(self) -> pd.DataFrame:
        """Canonical columns plus ``loss`` and ``group``."""
        frame = pd.DataFrame(dict(self.inputs))
        frame["loss"] = self.loss
        frame["group"] = self.group
        return frame

    def digest(self) -> str:
        """sha256 of the canonical columns: identical data gives an identical hash."""
        h = hashlib.sha256()
        for name in sorted(self.inputs):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.inputs[name], dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.loss, dtype=np.float64).tobytes())
        h.update("\x1f".join(str(g) for g in self.group).encode())
        return h.hexdigest()

    def _duplicate_rows(self) -> list[int]:
        frame = pd.DataFrame(dict(self.inputs))
        frame["loss"], frame["group"] = self.loss, self.group
        return [int(i) for i in np.flatnonzero(frame.duplicated().to_numpy())]


def guess_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Field (an input, ``loss``, ``group``) -> the column that most likely holds it.

    Columns named like a field are that field. Without a ``group`` column, the first column that
    is not numeric and repeats its values (2 to n/2 distinct: an architecture, not a run id)
    is the group, as ``bayescale example`` writes ``architecture``. A guess, for a form to
    preselect: the caller confirms it (``from_frame``'s ``mapping``/``group_col``).
    """
    guess = {name: name for name in (*INPUTS, "loss", "group") if name in frame.columns}
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


def _as_float(column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & column.notna().to_numpy()
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
