"""Keyset pagination: a page is the rows after (or before) a position in a total order.

An `Order` lists the keys a list is sorted by and always ends with the row's id, so the order is
total and a position (the key values of one row) names one place in it whether or not that row
still exists. The page after position P is `WHERE <after P> ORDER BY <keys> LIMIT size + 1`:
rows inserted or deleted elsewhere never shift it, as they shift an OFFSET. The extra row tells
whether more follow. A backward page reads the reversed order and reverses what it read.

NULLs (only in keys marked `nullable`) sort after every value in the order's own direction, so
they come first when it is read backwards. Every predicate built here is two-valued (never
NULL, even on a NULL key), so each row is exactly one of: before P, at P, after P.

Sources: `QuerySource` runs a service's `Listing` (a filtered SELECT and its order) in SQL;
`ListSource` pages rows already loaded (by a DataLoader) in Python, which agrees with SQL for
the key kinds it is used with (timestamps and uuids). graphql/pagination.py turns positions into
cursors and back; nothing here knows about GraphQL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

Kind = Literal["timestamp", "text", "float", "int", "uuid"]
Position = tuple[Any, ...]
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class Key:
    column: Any  # a column or a SQL expression; for ListSource, a mapped attribute
    kind: Kind
    descending: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Order:
    """`node` and `name` tie a cursor to the connection's node type and to this order."""

    node: str
    name: str
    keys: tuple[Key, ...]


@dataclass(frozen=True)
class Listing:
    """What a list shows: a filtered SELECT (its order is replaced) and the order to page it by.

    With `rows`, the SELECT lists columns (gotong_gql/rows.py) and a page holds the Core rows
    themselves (the order's keys ride along as `page_key_<i>`); otherwise it selects ORM
    entities, and a page holds the instance, or the tuple of them when it selects several."""

    query: Select[Any]
    order: Order
    rows: bool = False


@dataclass(frozen=True)
class Window:
    size: int
    backward: bool = False
    after: Position | None = None
    before: Position | None = None


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    positions: list[Position]
    more: bool  # rows beyond the page in the direction it was read, within after/before


def _beyond(keys: Sequence[Key], position: Position, forward: bool, inclusive: bool) -> Any:
    """Rows after `position` (forward) or before it, and the row at it when `inclusive`."""
    if len({key.descending for key in keys}) == 1 and not any(key.nullable for key in keys):
        # One direction and no NULLs: a row-value comparison, which an index on the keys serves.
        columns = tuple_(*(key.column for key in keys))
        values = tuple_(
            *(literal(v, key.column.type) for key, v in zip(keys, position, strict=True))
        )
        if forward != keys[0].descending:
            return columns >= values if inclusive else columns > values
        return columns <= values if inclusive else columns < values
    terms: list[Any] = []
    same: list[Any] = []
    for key, value in zip(keys, position, strict=True):
        column = key.column
        if value is None:
            # NULLs come last: nothing non-null follows one, every non-null value precedes it.
            further = false() if forward else column.is_not(None)
            equal = column.is_(None)
        else:
            later = column < value if key.descending else column > value
            earlier = column > value if key.descending else column < value
            if key.nullable:
                further = (
                    or_(later, column.is_(None)) if forward else and_(column.is_not(None), earlier)
                )
                equal = and_(column.is_not(None), column == value)
            else:
                further = later if forward else earlier
                equal = column == value
        terms.append(and_(*same, further))
        same.append(equal)
    if inclusive:
        terms.append(and_(*same))
    return or_(*terms)


def _sorting(keys: Sequence[Key], reverse: bool) -> list[ColumnElement[Any]]:
    clauses = []
    for key in keys:
        descending = key.descending != reverse
        clause = key.column.desc() if descending else key.column.asc()
        if key.nullable:
            clause = clause.nulls_first() if reverse else clause.nulls_last()
        clauses.append(clause)
    return clauses


def _ones(query: Select[Any]) -> Select[Any]:
    return query.with_only_columns(literal_column("1"), maintain_column_froms=True).order_by(None)


class QuerySource:
    """A Listing read in SQL, one statement per call, in the request's session."""

    def __init__(self, listing: Listing, sessions: Sessions) -> None:
        self.listing = listing
        self.order = listing.order
        self._sessions = sessions

    async def page(self, window: Window) -> Page:
        query, keys = self.listing.query, self.order.keys
        width = len(query.column_descriptions)
        conditions = []
        if window.after is not None:
            conditions.append(_beyond(keys, window.after, forward=True, inclusive=False))
        if window.before is not None:
            conditions.append(_beyond(keys, window.before, forward=False, inclusive=False))
        query = (
            query.add_columns(*(key.column.label(f"page_key_{i}") for i, key in enumerate(keys)))
            .where(*conditions)
            .order_by(None)
            .order_by(*_sorting(keys, reverse=window.backward))
            .limit(window.size + 1)
        )
        async with self._sessions() as session:
            rows = list(await session.execute(query))
        more = len(rows) > window.size
        rows = rows[: window.size]
        if window.backward:
            rows.reverse()
        if self.listing.rows:
            found: list[Any] = rows
        else:
            found = [row[0] if width == 1 else tuple(row[:width]) for row in rows]
        return Page(rows=found, positions=[tuple(row[width:]) for row in rows], more=more)

    async def count(self) -> int:
        query = select(func.count()).select_from(_ones(self.listing.query).subquery())
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)

    async def reaches(self, position: Position, forward: bool) -> bool:
        """Whether a row lies at `position` or beyond it (after it when forward)."""
        condition = _beyond(self.order.keys, position, forward, inclusive=True)
        async with self._sessions() as session:
            found = await session.scalar(_ones(self.listing.query).where(condition).limit(1))
        return found is not None


def _compare(keys: Sequence[Key], a: Position, b: Position) -> int:
    for key, left, right in zip(keys, a, b, strict=True):
        if left == right:
            continue
        if left is None or right is None:
            return 1 if left is None else -1
        result = -1 if left < right else 1
        return -result if key.descending else result
    return 0


class ListSource:
    """Rows already in memory (all of one parent's), paged in Python by the same rules."""

    def __init__(self, order: Order, rows: Sequence[Any]) -> None:
        self.order = order
        names = [key.column.key for key in order.keys]
        pairs = [(row, tuple(getattr(row, name) for name in names)) for row in rows]
        by_position = functools.cmp_to_key(lambda a, b: _compare(order.keys, a[1], b[1]))
        self._pairs = sorted(pairs, key=by_position)

    def _within(self, window: Window) -> list[tuple[Any, Position]]:
        keys = self.order.keys
        return [
            (row, position)
            for row, position in self._pairs
            if (window.after is None or _compare(keys, position, window.after) > 0)
            and (window.before is None or _compare(keys, position, window.before) < 0)
        ]

    async def page(self, window: Window) -> Page:
        pairs = self._within(window)
        chosen = pairs[-window.size :] if window.backward else pairs[: window.size]
        return Page(
            rows=[row for row, _ in chosen],
            positions=[position for _, position in chosen],
            more=len(pairs) > window.size,
        )

    async def count(self) -> int:
        return len(self._pairs)

    async def reaches(self, position: Position, forward: bool) -> bool:
        keys = self.order.keys
        wanted = (lambda c: c >= 0) if forward else (lambda c: c <= 0)
        return any(wanted(_compare(keys, found, position)) for _, found in self._pairs)
