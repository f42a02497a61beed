"""Relay connections: keyset cursors, `first`/`after` and `last`/`before`, and `totalCount`.

Arguments. A page holds 1 to 100 nodes: `first` reads forwards from `after` (or the start),
`last` backwards from `before` (or the end); `after` and `before` may be combined, `first` and
`last` may not. A root connection (a field of Query) needs `first` or `last`; a nested one reads
`first: 10` when given neither, so that a list inside a list does not multiply the cost limit by
100 (the cost counter in graphql/limits/cost.py counts the same). Every mistake is BAD_USER_INPUT
with `field` naming the argument.

`totalCount` and the `pageInfo` flags that need a look beyond the page (`hasPreviousPage` after
`after`, `hasNextPage` before `before`) each run one statement, and only when selected;
`hasNextPage` of a forward page and `hasPreviousPage` of a backward one come from the extra row
the page reads (keyset.py).

Cursor format, version 1. A cursor is the position of one row in the connection's order (the
order's keys, ending with the row id; keyset.py): the same row in the same order always has the
same cursor, and a cursor stays valid after its row is deleted.

    cursor = base64url(utf8(json)), without "=" padding and without line breaks
    json   = "[" node "," order ("," key)+ "]", with no whitespace anywhere
    node   = the node type's GraphQL name as a JSON string, e.g. "Task"
    order  = the order's name as a JSON string: "<FIELD>_<ASC|DESC>", e.g. "CREATED_AT_DESC"
    key    = the row's value of each key of the order, in order; the last is the row's id:
      timestamp  JSON string "YYYY-MM-DDTHH:MM:SS.ffffffZ": UTC, always six fraction digits
      text       JSON string of the value
      float      JSON string: the 16 lowercase hex digits of the IEEE 754 binary64 value
                 (big-endian), so that no decimal rounding is involved
      int        JSON number in decimal (32-bit)
      uuid       JSON string, lowercase with hyphens
      NULL       null (only in the keys that may be NULL)

JSON strings escape `"` and `\\` and the control characters (\\b \\f \\n \\r \\t, the others as
\\u00xx in lowercase hex) and nothing else: Python's json.dumps(ensure_ascii=False) and
PostgreSQL's to_json(text) agree on this. For example the tasks order CREATED_AT_DESC gives
`["Task","CREATED_AT_DESC","2026-02-09T10:30:00.000000Z","1b4e28ba-2fa1-11d2-883f-0016d3cca427"]`.
On PostgreSQL the same bytes come from built-in functions:

    translate(encode(convert_to('[' || to_json('Task'::text) || ','
        || to_json('CREATED_AT_DESC'::text) || ','
        || to_json(to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || ',' || to_json(id::text) || ']', 'UTF8'), 'base64'), E'+/=\\n', '-_')

with a float key as to_json(encode(float8send(x), 'hex')), an int key as x::text and a key that
may be NULL as coalesce(<its form>::text, 'null'); translate() maps + and / to - and _, and drops
the padding and the newlines that PostgreSQL's base64 inserts every 76 characters. SQLite has no
base64: register a Python function on connect (as db.py does for the math functions).
tests/test_pagination.py checks the PostgreSQL expression against the API's cursors.

Decoding is strict: the cursor must be exactly what encoding its decoded value gives (canonical
base64url and JSON), name this connection's node type and order, carry one value of the right
kind per key, in range (a real date and time, a finite float, a 32-bit int, a canonical uuid, a
text without NUL of at most 1,000 characters), and be at most 2,048 characters long. Anything
else is BAD_USER_INPUT on `after` or `before`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import struct
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from gotong_gql.graphql.errors import bad_input
from gotong_gql.keyset import Key, ListSource, Order, Position, QuerySource, Window

MAX_PAGE_SIZE = 100
NESTED_PAGE_SIZE = 10
MAX_CURSOR_LENGTH = 2048
MAX_TEXT_KEY = 1000
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z")
_FLOAT_BITS = re.compile(r"[0-9a-f]{16}")
_INT32 = range(-(2**31), 2**31)

NodeT = TypeVar("NodeT")
Source = QuerySource | ListSource
# A pageInfo flag: the answer at once when the page already tells it, else an awaitable of the
# statement that looks (the fields are synchronous: graphql/loaders.py).
Check = Callable[[], bool | Awaitable[bool]]

First = Annotated[
    int | None,
    strawberry.argument(
        description=f"The first n nodes (1..{MAX_PAGE_SIZE}) after `after`; this or `last` is "
        "required."
    ),
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description=f"The last n nodes (1..{MAX_PAGE_SIZE}) before `before`; this or `first` is "
        "required."
    ),
]
NestedFirst = Annotated[
    int | None,
    strawberry.argument(
        description=f"The first n nodes (1..{MAX_PAGE_SIZE}) after `after`; "
        f"{NESTED_PAGE_SIZE} when neither `first` nor `last` is given."
    ),
]
NestedLast = Annotated[
    int | None,
    strawberry.argument(
        description=f"The last n nodes (1..{MAX_PAGE_SIZE}) before `before`; not with `first`."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(description="A cursor of this connection: the nodes after it."),
]
Before = Annotated[
    str | None,
    strawberry.argument(description="A cursor of this connection: the nodes before it."),
]

Filter = Annotated[
    NodeT | None,
    strawberry.argument(description="Only the nodes that match every field given; all if null."),
]


@strawberry.type(description="Where a page is in its connection, and the cursors to go on.")
class PageInfo:
    next_check: strawberry.Private[Check]
    previous_check: strawberry.Private[Check]
    first_cursor: strawberry.Private[str | None]
    last_cursor: strawberry.Private[str | None]

    @strawberry.field(description="Whether nodes follow this page (forwards, after `endCursor`).")
    def has_next_page(self) -> bool:
        return self.next_check()  # type: ignore[return-value]

    @strawberry.field(
        description="Whether nodes precede this page (backwards, before `startCursor`)."
    )
    def has_previous_page(self) -> bool:
        return self.previous_check()  # type: ignore[return-value]

    @strawberry.field(
        description="The first edge's cursor: `before` for the previous page; null when empty."
    )
    def start_cursor(self) -> str | None:
        return self.first_cursor

    @strawberry.field(
        description="The last edge's cursor: `after` for the next page; null when empty."
    )
    def end_cursor(self) -> str | None:
        return self.last_cursor


@strawberry.type(description="One node of a connection's page, with its position.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(
        description="This node's position: an opaque keyset cursor for `after` or `before`, "
        "valid while rows are added or removed."
    )
    node: NodeT = strawberry.field(description="The node.")


@strawberry.type(
    description="One page of a list (a Relay connection): its edges in the list's order, "
    "where it is, and how many nodes the list has."
)
class Connection(Generic[NodeT]):
    page_info: PageInfo = strawberry.field(description="Where this page is; cursors to go on.")
    edges: list[Edge[NodeT]] = strawberry.field(description="The page's nodes, in order.")
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="How many nodes the connection has on all its pages (with its filters); "
        "counted only when selected."
    )
    async def total_count(self) -> int:
        return await self.counter()


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


def _encode_value(kind: str, value: Any) -> Any:
    if value is None or kind in ("text", "int"):
        return value
    if kind == "timestamp":
        t = value.astimezone(UTC)
        return (
            f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:"
            f"{t.second:02d}.{t.microsecond:06d}Z"
        )
    if kind == "float":
        return struct.pack(">d", float(value)).hex()
    return str(uuid.UUID(str(value)))


def _canonical(values: list[Any]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def encode_cursor(order: Order, position: Position) -> str:
    values = [order.node, order.name]
    values += [
        _encode_value(key.kind, value) for key, value in zip(order.keys, position, strict=True)
    ]
    return base64.urlsafe_b64encode(_canonical(values).encode()).decode().rstrip("=")


def _decode_value(key: Key, value: Any) -> Any:
    """One key's value from its cursor form; ValueError when it is not one."""
    if value is None:
        if key.nullable:
            return None
        raise ValueError("null")
    if key.kind == "int":
        if type(value) is not int or value not in _INT32:
            raise ValueError(value)
        return value
    if not isinstance(value, str):
        raise ValueError(value)
    if key.kind == "text":
        if len(value) > MAX_TEXT_KEY or "\x00" in value:
            raise ValueError(value)
        return value
    if key.kind == "timestamp":
        match = _TIMESTAMP.fullmatch(value)
        if match is None:
            raise ValueError(value)
        return datetime(*(int(part) for part in match.groups()), tzinfo=UTC)
    if key.kind == "float":
        if _FLOAT_BITS.fullmatch(value) is None:
            raise ValueError(value)
        (number,) = struct.unpack(">d", bytes.fromhex(value))
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    parsed = uuid.UUID(value)
    if str(parsed) != value:
        raise ValueError(value)
    return parsed


def decode_cursor(cursor: str, order: Order, argument: str) -> Position:
    refused = bad_input(f"{argument} is not a cursor of this connection and order", argument)
    if len(cursor) > MAX_CURSOR_LENGTH or _BASE64URL.fullmatch(cursor) is None:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text = raw.decode("utf-8")
        values = json.loads(text)
    except (ValueError, binascii.Error, RecursionError):
        raise refused from None
    if (
        base64.urlsafe_b64encode(raw).decode().rstrip("=") != cursor
        or not isinstance(values, list)
        or _canonical(values) != text
        or len(values) != 2 + len(order.keys)
        or values[:2] != [order.node, order.name]
    ):
        raise refused
    try:
        return tuple(
            _decode_value(key, value) for key, value in zip(order.keys, values[2:], strict=True)
        )
    except (ValueError, OverflowError):
        raise refused from None


def window(order: Order, args: PageArgs, *, nested: bool) -> Window:
    """The page the arguments ask for; BAD_USER_INPUT on the argument that is wrong."""
    first, last = args.first, args.last
    if first is not None and last is not None:
        raise bad_input("give first or last, not both", "last")
    if first is None and last is None:
        if not nested:
            raise bad_input(f"give first or last (1..{MAX_PAGE_SIZE})", "first")
        first = NESTED_PAGE_SIZE
    size, name = (first, "first") if first is not None else (last, "last")
    assert size is not None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_input(f"{name} must be between 1 and {MAX_PAGE_SIZE}", name)
    return Window(
        size=size,
        backward=last is not None,
        after=decode_cursor(args.after, order, "after") if args.after is not None else None,
        before=decode_cursor(args.before, order, "before") if args.before is not None else None,
    )


def _known(value: bool) -> Check:
    def check() -> bool:
        return value

    return check


def _reaches(source: Source, position: Position | None, forward: bool) -> Check:
    if position is None:
        return _known(False)

    def check() -> Awaitable[bool]:
        return source.reaches(position, forward)

    return check


async def paginate(
    source: Source, args: PageArgs, to_node: Callable[[Any], Any], *, nested: bool = False
) -> Connection[Any]:
    """One page of `source` as a connection; the arguments are checked before any SQL runs."""
    wanted = window(source.order, args, nested=nested)
    page = await source.page(wanted)
    edges = [
        Edge(cursor=encode_cursor(source.order, position), node=to_node(row))
        for row, position in zip(page.rows, page.positions, strict=True)
    ]
    # Toward the reading direction, the extra row answers; elsewhere, a look past the cursor.
    beyond_before = _reaches(source, wanted.before, forward=True)
    beyond_after = _reaches(source, wanted.after, forward=False)
    more = _known(True) if page.more else None
    return Connection(
        edges=edges,
        page_info=PageInfo(
            next_check=beyond_before if wanted.backward else (more or beyond_before),
            previous_check=(more or beyond_after) if wanted.backward else beyond_after,
            first_cursor=edges[0].cursor if edges else None,
            last_cursor=edges[-1].cursor if edges else None,
        ),
        counter=source.count,
    )
