"""`node`/`nodes` support: load rows by the uuids inside global ids, keeping the order (Core
rows, gotong_gql/rows.py; a user's without the password hash).

An id that names no object, or a type that is not a Node (AuditEntry, WebhookEvent, Witness, an
unknown name), or an interface (`Node` itself, `UserError`: no object is of an interface type
alone), or that is not a global id at all, resolves to null: the same answer as an id of a
deleted object, so ids reveal nothing and never fail the whole list.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from strawberry import relay
from strawberry.types.base import StrawberryObjectDefinition

from gotong_gql.graphql.context import Context
from gotong_gql.rows import USER_EXCLUDED, columns


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
    query = select(*columns(model, USER_EXCLUDED)).where(model.id.in_(wanted))
    async with context.db() as session:
        rows = {row.id: row for row in await session.execute(query)}
    return [to_node(rows[key]) if key in rows else None for key in keys]


def _node_type(info: Any, global_id: str) -> tuple[type[relay.Node], str] | None:
    try:
        parsed = relay.GlobalID.from_id(global_id)
    except ValueError:
        return None
    definition = info.schema.get_type_by_name(parsed.type_name)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.is_interface:
        return None
    origin = definition.origin
    if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
        return None
    return origin, parsed.node_id


async def resolve_global_ids(info: Any, global_ids: list[str]) -> list[Any]:
    """The objects of these global ids, in order, one query per type; null where none is."""
    found: list[Any] = [None] * len(global_ids)
    wanted: defaultdict[type[relay.Node], list[tuple[int, str]]] = defaultdict(list)
    for index, global_id in enumerate(global_ids):
        target = _node_type(info, global_id)
        if target is not None:
            wanted[target[0]].append((index, target[1]))
    for node_type, entries in wanted.items():
        nodes = await node_type.resolve_nodes(
            info=info, node_ids=[node_id for _, node_id in entries], required=False
        )
        for (index, _), node in zip(entries, nodes, strict=True):
            found[index] = node
    return found
