"""Walking a connection page by page, and the expected orders computed independently."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable
from strawberry import relay

PAGE = "totalCount edges { cursor node { %s } } " + (
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
)
ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"


def node_uuid(global_id: str) -> uuid.UUID:
    return uuid.UUID(relay.GlobalID.from_id(global_id).node_id)


def global_id(type_name: str, row_id: uuid.UUID) -> str:
    return str(relay.GlobalID(type_name, str(row_id)))


async def run_sql(api: Any, *statements: Executable) -> None:
    """Changes made behind the API's back, as another process would."""
    async with api.services.session_factory() as session:
        for statement in statements:
            await session.execute(statement)
        await session.commit()


async def rows(api: Any, statement: Executable) -> list[Any]:
    async with api.services.session_factory() as session:
        return list(await session.execute(statement))


def ordered(items: Sequence[Any], *keys: tuple[Callable[[Any], Any], bool]) -> list[Any]:
    """Sorted by (getter, descending) keys, NULLs (None) last whatever the direction: stable
    sorts from the last key to the first."""
    result = list(items)
    for getter, descending in reversed(keys):
        present = [item for item in result if getter(item) is not None]
        missing = [item for item in result if getter(item) is None]
        result = sorted(present, key=getter, reverse=descending) + missing
    return result


def dig(data: dict[str, Any], path: Sequence[str]) -> Any:
    for name in path:
        data = data[name]
    return data


@dataclass
class Walk:
    keys: list[Any] = field(default_factory=list)
    cursors: dict[Any, str] = field(default_factory=dict)
    pages: int = 0


async def walk(
    api: Any,
    token: str,
    query: str,
    path: Sequence[str],
    *,
    size: int,
    backward: bool = False,
    identity: Callable[[dict[str, Any]], Any] = lambda node: node["id"],
    variables: dict[str, Any] | None = None,
    total: Callable[[], Awaitable[int]] | None = None,
    between: Callable[[list[Any]], Awaitable[None]] | None = None,
) -> Walk:
    """Every page of one connection, forwards (first/after) or backwards (last/before), with
    `between` run before each next page. Checks every page: its size, its start and end
    cursors, the pageInfo flags, and totalCount against `total()` of that moment."""
    result = Walk()
    cursor = None
    while True:
        page_args = (
            {"last": size, "before": cursor} if backward else {"first": size, "after": cursor}
        )
        connection = dig(await api.gql(query, {**(variables or {}), **page_args}, token), path)
        edges = connection["edges"]
        keys = [identity(edge["node"]) for edge in edges]
        info = connection["pageInfo"]
        assert 0 < len(edges) <= size or (result.pages == 0 and not edges), connection
        assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
        assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
        # The side the walk came from has rows exactly when a cursor was given.
        assert info["hasNextPage" if backward else "hasPreviousPage"] is (cursor is not None)
        if total is not None:
            assert connection["totalCount"] == await total()
        result.cursors.update((key, edge["cursor"]) for key, edge in zip(keys, edges, strict=True))
        result.keys = keys + result.keys if backward else result.keys + keys
        result.pages += 1
        assert result.pages <= 100, "the walk does not end"
        if not info["hasPreviousPage" if backward else "hasNextPage"]:
            return result
        cursor = info["startCursor" if backward else "endCursor"]
        if between is not None:
            await between(result.keys)


async def both_ways(api: Any, token: str, query: str, path: Sequence[str], **options: Any):
    """Forward and backward walks that must agree on the order and on every cursor."""
    forward = await walk(api, token, query, path, **options)
    backward = await walk(api, token, query, path, backward=True, **options)
    assert backward.keys == forward.keys
    assert backward.cursors == forward.cursors
    return forward.keys


async def add(api: Any, *objects: Any) -> None:
    """Rows written straight to the database (and flushed in this order)."""
    async with api.services.session_factory() as session:
        for row in objects:
            session.add(row)
            await session.flush()
        await session.commit()
