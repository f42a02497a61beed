"""The first difference between two decoded JSON values, with its path, or None if equal.

Stricter than `==` where a client can tell: the order of an object's keys counts (a GraphQL
response keeps the selection's order), `true` is not `1`, and `null` is not a missing key.
Numbers are compared as JSON numbers: `4` and `4.0` are the same number (JSON has one number
type; graphql-core writes a Float as `4.0`, PostgreSQL's json as `4`), while `0.1` and
`0.10000000000000002` are not.
"""

from __future__ import annotations

import json
from typing import Any


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def _show(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_difference(expected: Any, actual: Any, path: str = "$") -> str | None:
    """`None` when equal; otherwise `<path>: <what differs>` for the first difference in
    document order (depth first)."""
    kind = _kind(expected)
    if kind != _kind(actual):
        return f"{path}: {kind} {_show(expected)} != {_kind(actual)} {_show(actual)}"
    if kind == "object":
        keys, other_keys = list(expected), list(actual)
        for index, key in enumerate(keys):
            if key not in actual:
                return f"{path}: key {key!r} missing (expected keys {keys}, got {other_keys})"
            if index >= len(other_keys) or other_keys[index] != key:
                return f"{path}: keys in another order: expected {keys}, got {other_keys}"
            found = first_difference(expected[key], actual[key], f"{path}.{key}")
            if found:
                return found
        if len(other_keys) > len(keys):
            extra = [key for key in other_keys if key not in expected]
            return f"{path}: unexpected keys {extra} (expected keys {keys})"
        return None
    if kind == "array":
        for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path}: {len(expected)} items != {len(actual)} items"
        return None
    if expected != actual:
        return f"{path}: {_show(expected)} != {_show(actual)}"
    return None
