"""Imported rows into a local CSV, merged on ``(run, step)`` so a re-import adds nothing."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trackers.rows import INPUTS, TrackerError

# the columns ``bayescale fit`` reads by name come first; anything else follows
_ORDER = ("run", "step", "group", *INPUTS, "loss")


def merge_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """Append the rows whose ``(run, step)`` the file lacks; returns (added, already there).

    A new file is written with a header; an existing one must be an earlier import (it has
    ``run`` and ``step`` columns). The file is replaced atomically, so an interrupted import
    leaves the old file whole.
    """
    existing: list[dict[str, str]] = []
    header: list[str] = []
    if path.exists():
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            if not {"run", "step"} <= set(header):
                raise TrackerError(
                    f"{path} exists but is not an import (no 'run' and 'step' columns); "
                    "give a new file",
                    field="output",
                )
            existing = list(reader)
    seen = {(r["run"], _step(r["step"], path)) for r in existing}
    new = [r for r in rows if (r["run"], r["step"]) not in seen]
    if not new:
        return 0, len(rows)
    present = {k for r in new for k in r}
    columns = header + [c for c in _ORDER if c in present and c not in header]
    columns += sorted(present - set(columns))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(existing)
            writer.writerows({k: _cell(v) for k, v in r.items()} for r in new)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(new), len(rows) - len(new)


def _step(text: str, path: Path) -> int:
    try:
        return int(float(text))
    except ValueError:
        raise TrackerError(f"{path}: step '{text}' is not a number", field="output") from None


def _cell(value: Any) -> Any:
    # repr keeps every digit of a float (str would too in Python 3, but be explicit)
    return repr(value) if isinstance(value, float) else value
