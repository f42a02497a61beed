"""Relay connections: a required `first` (1..100) and an opaque `after` cursor."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TypeVar

from strawberry import relay

from gotong_gql.graphql.errors import bad_input

MAX_PAGE_SIZE = 100
_PREFIX = "cursor:"

Row = TypeVar("Row")
Node = TypeVar("Node")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(cursor)
        offset = int(text.removeprefix(_PREFIX))
        if offset < 0:
            raise ValueError(cursor)
        return offset
    except (ValueError, UnicodeDecodeError):
        raise bad_input("after is not a cursor of this connection", "after") from None


def page_window(first: int, after: str | None) -> tuple[int, int]:
    """(limit, offset) for a page, with one extra row fetched to tell whether more follow."""
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise bad_input(f"first must be between 1 and {MAX_PAGE_SIZE}", "first")
    offset = decode_cursor(after) + 1 if after else 0
    return first + 1, offset


def connection(
    rows: Sequence[Row], first: int, offset: int, to_node: Callable[[Row], Node]
) -> relay.Connection[Node]:
    page = rows[:first]
    edges = [
        relay.Edge(node=to_node(row), cursor=encode_cursor(offset + index))
        for index, row in enumerate(page)
    ]
    return relay.Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
