"""Turn an observation upload (JSON or CSV) into validated rows, or a 422 naming each bad cell."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from models import COUNT_INPUTS, INPUTS, csv_delimiter, header_hint, parse_count
from service import strict_json
from service.errors import Invalid, UnsupportedMediaType
from service.schemas import ObservationRequest

_ROWS = TypeAdapter(list[ObservationRequest])
_FIELDS = set(ObservationRequest.model_fields) - {"meta"}


# CSV columns read as a field under another name: the query parameter that names each.
MAPPED_FIELDS: dict[str, str] = {"group": "group_col", "run": "run_col"}
_MAP_FIELDS = (*INPUTS, "loss", "group", "run")


def csv_columns(
    group_col: str | None = None, run_col: str | None = None, maps: Sequence[str] = ()
) -> dict[str, str]:
    """Field -> the CSV column that holds it, from the upload's query parameters.

    ``maps`` are ``FIELD=COLUMN`` for an input, ``loss``, ``group`` or ``run`` (the command
    line's ``--map``); an :class:`Invalid` names the parameter of a bad or repeated choice.
    """
    columns: dict[str, str] = {}
    for item in maps:
        name, sep, column = item.partition("=")
        if not sep or not column.strip():
            raise Invalid(f"map '{item}' is not FIELD=COLUMN", field="map")
        if name not in _MAP_FIELDS:
            choices = ", ".join(_MAP_FIELDS)
            raise Invalid(f"map '{item}': '{name}' is not a field ({choices})", field="map")
        if name in columns:
            raise Invalid(f"map names {name} twice", field="map")
        columns[name] = column
    for name, given in (("group", group_col), ("run", run_col)):
        if given is not None:
            if not given.strip():
                raise Invalid(f"{MAPPED_FIELDS[name]} is empty", field=MAPPED_FIELDS[name])
            if name in columns:
                raise Invalid(
                    f"{MAPPED_FIELDS[name]} and map both name the {name} column",
                    field=MAPPED_FIELDS[name],
                )
            columns[name] = given
    taken = list(columns.values())
    for column in sorted({c for c in taken if taken.count(c) > 1}):
        fields = ", ".join(f for f, c in columns.items() if c == column)
        raise Invalid(f"column '{column}' is mapped to {fields}: choose one", field="map")
    return columns


def parse_observations(
    body: bytes, content_type: str, columns: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Rows as dicts ready for storage; every problem is reported, nothing half-accepted.

    ``columns`` (:func:`csv_columns`) reads a CSV's columns of other names as fields; a column
    named like one of those fields is then kept as metadata under ``<name>_``.
    """
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        raw = _csv_rows(body, columns or {})
    elif kind in ("application/json", ""):
        if columns:
            field = MAPPED_FIELDS.get(next(iter(columns)), "map")
            raise Invalid(f"{field} maps CSV columns; a JSON body names its fields", field=field)
        raw = _json_rows(body)
    else:
        raise UnsupportedMediaType(
            f"unsupported content type '{kind}' (use application/json or text/csv)",
            field="Content-Type",
        )
    try:
        rows = _ROWS.validate_python(raw)
    except ValidationError as exc:
        errors = [_row_error(e) for e in exc.errors(include_url=False, include_input=False)]
        raise Invalid(
            f"{len({e['row'] for e in errors})} invalid row(s); nothing was stored", errors=errors
        ) from None
    return [r.model_dump() for r in rows]


def _json_rows(body: bytes) -> list[Any]:
    try:
        payload = strict_json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"body is not valid JSON: {exc}", field="body") from None
    if (
        not isinstance(payload, dict)
        or set(payload) != {"rows"}
        or not isinstance(payload["rows"], list)
    ):
        raise Invalid('JSON body must be {"rows": [...]}', field="rows")
    if not payload["rows"]:
        raise Invalid("no rows", field="rows")
    return list(payload["rows"])


def _csv_rows(body: bytes, columns: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"CSV is not UTF-8: {exc.reason} at byte {exc.start}", field="body") from None
    # newline="": the csv module handles \r, \n and \r\n itself (and quoted newlines)
    reader = csv.DictReader(
        io.StringIO(text, newline=""), delimiter=csv_delimiter(text), strict=True
    )
    try:
        if columns:
            reader.fieldnames = _mapped_header(reader.fieldnames, columns)
        rows = _csv_records(reader)
    except csv.Error as exc:
        raise Invalid(f"CSV is malformed: {exc}", field="body") from None
    if not rows:
        raise Invalid("CSV has no data rows", field="rows")
    return rows


def _mapped_header(header: Sequence[str] | None, columns: Mapping[str, str]) -> list[str]:
    """The header with mapped columns renamed to their fields.

    A column already named like a mapped field becomes ``<name>_``: metadata, never that field.
    """
    names = list(header or [])
    field_of = {column: name for name, column in columns.items()}
    for name, column in columns.items():
        if column not in names:
            where = MAPPED_FIELDS.get(name, "map")
            raise Invalid(
                f"column '{column}' ({where}) is not in the CSV header{header_hint(names)}",
                field=where,
            )
    return [field_of[c] if c in field_of else (f"{c}_" if c in columns else c) for c in names]


def _csv_records(reader: csv.DictReader[str]) -> list[dict[str, Any]]:
    if not reader.fieldnames:
        raise Invalid("CSV has no header row", field="body")
    if any("\x00" in name for name in reader.fieldnames):
        raise Invalid("a CSV column name contains a NUL byte", field="body")
    if "loss" not in reader.fieldnames:
        raise Invalid(f"CSV has no 'loss' column{header_hint(reader.fieldnames)}", field="loss")
    rows: list[dict[str, Any]] = []
    for line in reader:
        if None in line:
            raise Invalid(f"CSV row {len(rows)} has more cells than the header", field="body")
        row: dict[str, Any] = {"meta": {}}
        for column, cell in line.items():
            value = (cell or "").strip()
            if "\x00" in value:  # PostgreSQL text cannot hold it; refused on SQLite alike
                raise Invalid(
                    f"CSV row {len(rows)}, column {column!r} contains a NUL byte",
                    errors=[{"row": len(rows), "field": column, "message": "contains a NUL byte"}],
                )
            if column in _FIELDS:
                if value != "":
                    row[column] = value if column in ("group", "run") else _number(value, column)
                if value != "" and column == "run":  # a run column was metadata before: still is
                    row["meta"][column] = value
            elif value != "":
                row["meta"][column] = value
        rows.append(row)
    return rows


def _number(value: str, column: str) -> Any:
    try:
        number = float(value)
    except ValueError:
        # a count with a magnitude suffix ("1.3B"), as models.ScalingData.from_frame reads it
        count = parse_count(value) if column in COUNT_INPUTS else None
        return value if count is None else count  # pydantic reports a bad one, row and field
    return number if math.isfinite(number) else value


def _row_error(error: Any) -> dict[str, Any]:
    loc = list(error["loc"])
    row = loc[0] if loc and isinstance(loc[0], int) else None
    fields = [str(p) for p in loc[1:] if not isinstance(p, int)]
    return {"row": row, "field": ".".join(fields) or "row", "message": error["msg"]}
