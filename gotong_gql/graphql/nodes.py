"""`node`/`nodes` support: load rows by the uuids inside global ids, keeping the order."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from gotong_gql.graphql.context import Context


async def load_nodes(
    info: Any, model: Any, node_ids: Iterable[str], to_node: Callable[[Any], Any]
) -> list[Any]:
    context: Context = info.context
    context.require_user_id()
    keys: list[uuid.UUID | None] = []
    for node_id in node_ids:
        try:
            keys.append(uuid.UUID(node_id))
        except ValueError:
            keys.append(None)
    wanted = [key for key in keys if key is not None]
    async with context.db() as session:
        rows = {
            row.id: row for row in await session.scalars(select(model).where(model.id.in_(wanted)))
        }
    return [to_node(rows[key]) if key in rows else None for key in keys]
