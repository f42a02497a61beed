"""Strawberry inputs to plain dicts for the services (omitted fields left out, enums unwrapped)."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import strawberry


def input_data(value: Any, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        field.name: _plain(getattr(value, field.name))
        for field in dataclasses.fields(value)
        if field.name not in exclude and getattr(value, field.name) is not strawberry.UNSET
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return input_data(value)
    return value
