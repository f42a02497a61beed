"""What the operation selects below a resolver's field, for the prefetches of list resolvers
(graphql/loaders.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from strawberry.types.nodes import SelectedField, Selection


def selected_below(info: Any, *path: str) -> frozenset[str]:
    """The names of the fields selected at `path` below the resolver's field (`"edges",
    "node"` for a connection's nodes), through named and inline fragments of any type.
    Directives are not evaluated: a field under `@skip(if: true)` counts, and its prefetch is
    only wasted work, never a wrong answer."""
    # Strawberry's `selected_fields` are the resolver's own field (one per field node).
    level: list[Selection] = [child for field in info.selected_fields for child in field.selections]
    for name in path:
        level = [
            child for field in _fields(level) if field.name == name for child in field.selections
        ]
    return frozenset(field.name for field in _fields(level))


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:  # a fragment spread or an inline fragment
            yield from _fields(selection.selections)
