"""The upload's column mapping: which CSV column is the group, the run, each input, the loss.

The guesses are :func:`models.data.guess_columns` (the same reading of a CSV the CLI's
``--group-col``/``--map`` confirm); the user confirms or changes them on the mapping page, and
the file is then stored exactly as ``POST …/observations`` with ``text/csv`` stores it, under
the header the mapping gives (a column kept as metadata keeps its name). Only reshaping here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from models import INPUTS, csv_delimiter, guess_columns
from service.errors import Invalid

META = "meta"
ROLES: tuple[str, ...] = ("group", "run", *INPUTS, "loss", META)
SAMPLES = 3


@dataclass(frozen=True)
class Column:
    """One CSV column on the mapping page: its first values and the preselected role."""

    name: str
    samples: list[str]
    role: str


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"CSV is not UTF-8: {exc.reason} at byte {exc.start}", field="body") from None


def columns_of(body: bytes) -> list[Column]:
    """The file's columns with sample values and the guessed role of each."""
    try:
        text = _text(body)
        frame = pd.read_csv(
            io.StringIO(text), sep=csv_delimiter(text), dtype=str, keep_default_na=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise Invalid(f"CSV is malformed: {exc}", field="body") from None
    if frame.columns.duplicated().any() or any(str(c).startswith("Unnamed:") for c in frame):
        raise Invalid("CSV header has empty or repeated column names", field="body")
    role_of = {column: field for field, column in guess_columns(frame.replace("", None)).items()}
    return [
        Column(str(c), [str(v) for v in frame[c].head(SAMPLES)], role_of.get(str(c), META))
        for c in frame.columns
    ]


def remapped(body: bytes, roles: Mapping[str, str]) -> bytes:
    """The file under the header the mapping gives; an :class:`Invalid` naming a bad choice.

    ``roles``: column -> a field of :data:`ROLES`. Every field but ``meta`` takes one column at
    most and ``loss`` one exactly; a metadata column named like a field is stored as ``<name>_``
    so that it cannot be read as that field.
    """
    chosen = [role for role in roles.values() if role != META]
    for role in set(roles.values()) - set(ROLES):
        raise Invalid(f"'{role}' is not a field (choose one of {', '.join(ROLES)})", field="map")
    for role in sorted({r for r in chosen if chosen.count(r) > 1}):
        columns = ", ".join(c for c, r in roles.items() if r == role)
        raise Invalid(f"several columns are {role} ({columns}): choose one", field=role)
    if "loss" not in chosen:
        raise Invalid("no 'loss' column: map one column to loss", field="loss")
    fields = set(ROLES)
    text = _text(body)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text), strict=True)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    try:
        header = next(reader)
        writer.writerow(
            [
                roles[c] if roles.get(c, META) != META else (f"{c}_" if c in fields else c)
                for c in header
            ]
        )
        writer.writerows(reader)
    except (StopIteration, csv.Error) as exc:
        raise Invalid(f"CSV is malformed: {exc}", field="body") from None
    return out.getvalue().encode()
