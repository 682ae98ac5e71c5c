"""Turn an observation upload (JSON or CSV) into validated rows, or a 422 naming each bad cell."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from pydantic import TypeAdapter, ValidationError

from service import strict_json
from service.errors import Invalid, UnsupportedMediaType
from service.schemas import ObservationRequest

_ROWS = TypeAdapter(list[ObservationRequest])
_FIELDS = set(ObservationRequest.model_fields) - {"meta"}


def parse_observations(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """Rows as dicts ready for storage; every problem is reported, nothing half-accepted."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        raw = _csv_rows(body)
    elif kind in ("application/json", ""):
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


def _csv_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"CSV is not UTF-8: {exc.reason} at byte {exc.start}", field="body") from None
    # newline="": the csv module handles \r, \n and \r\n itself (and quoted newlines)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = _csv_records(reader)
    except csv.Error as exc:
        raise Invalid(f"CSV is malformed: {exc}", field="body") from None
    if not rows:
        raise Invalid("CSV has no data rows", field="rows")
    return rows


def _csv_records(reader: csv.DictReader[str]) -> list[dict[str, Any]]:
    if not reader.fieldnames:
        raise Invalid("CSV has no header row", field="body")
    if any("\x00" in name for name in reader.fieldnames):
        raise Invalid("a CSV column name contains a NUL byte", field="body")
    if "loss" not in reader.fieldnames:
        raise Invalid("CSV has no 'loss' column", field="loss")
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
                    row[column] = value if column in ("group", "run") else _number(value)
                if value != "" and column == "run":  # a run column was metadata before: still is
                    row["meta"][column] = value
            elif value != "":
                row["meta"][column] = value
        rows.append(row)
    return rows


def _number(value: str) -> Any:
    try:
        number = float(value)
    except ValueError:
        return value  # pydantic reports it with row and field
    return number if math.isfinite(number) else value


def _row_error(error: Any) -> dict[str, Any]:
    loc = list(error["loc"])
    row = loc[0] if loc and isinstance(loc[0], int) else None
    fields = [str(p) for p in loc[1:] if not isinstance(p, int)]
    return {"row": row, "field": ".".join(fields) or "row", "message": error["msg"]}
