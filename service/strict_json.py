"""Strict JSON: the subset of JSON this service can store on either database and serve back.

PostgreSQL text cannot hold a NUL byte, a lone UTF-16 surrogate cannot be encoded in a JSON
response, and JSON's NaN/Infinity (or a number that overflows to infinity) become ``null`` on
SQLite and an error on PostgreSQL. Huge integers and deep nesting make Python's own decoder and
encoder fail. Each is an `Invalid` naming the path to the value (``rows.0.meta.note``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from service.errors import Invalid

MAX_DEPTH = 32  # objects/arrays inside each other; the API's own bodies need 4
MAX_INT_DIGITS = 40  # well past any count, seed or id this API takes (int64 has 19)


class _Refused:
    """A JSON token refused while decoding; reported with its location by the walk."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _parse_int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Refused(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused("a number too large for a double")


def _parse_constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a JSON number")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored and served back (NUL, lone surrogate), if it cannot."""
    if "\x00" in text:
        return "contains a NUL byte"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate"
    return None


def loads(body: bytes | str) -> Any:
    """Parse strict JSON (RFC 8259, finite numbers, storable text, bounded depth).

    Raises
    ------
    json.JSONDecodeError
        Not JSON at all (callers report this their own way).
    Invalid
        JSON that cannot be stored or served back; ``field`` is the path to the bad value.
    """
    try:
        value = json.loads(
            body, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
    except RecursionError:
        raise Invalid(
            f"body: JSON nested deeper than {MAX_DEPTH} levels; nothing was stored", field="body"
        ) from None
    _check(value)
    return value


def _check(root: Any) -> None:
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            _refuse(path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, _Refused):
            _refuse(path, value.reason)
        if isinstance(value, str) and (problem := text_problem(value)):
            _refuse(path, problem)
        if isinstance(value, dict):
            for key, item in value.items():
                if problem := text_problem(key):
                    _refuse(path, f"a key {problem}")
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, str(i))) for i, item in enumerate(value))


def _refuse(path: tuple[str, ...], problem: str) -> None:
    field = ".".join(path) or "body"
    errors = []
    if len(path) > 2 and path[0] == "rows" and path[1].isdigit():
        # an observation batch: reported per row and field like every other bad cell
        errors = [{"row": int(path[1]), "field": ".".join(path[2:]), "message": problem}]
    raise Invalid(f"{field}: {problem}; nothing was stored", field=field, errors=errors)
