"""The fields of Query: the entry points, by id, by the viewer, and the root connections."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, null, select
from strawberry import relay
from strawberry.types.base import StrawberryObjectDefinition

from gotong_gql.compiler.build import Builder, Selected, Unsupported
from gotong_gql.compiler.connection import Connection
from gotong_gql.compiler.registry import TABLES, register
from gotong_gql.compiler.specs import Custom
from gotong_gql.errors import DomainError
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.skill import service as skill_service
from gotong_gql.task import queries as task_queries
from gotong_gql.task.resolvers import _filter as task_filter
from gotong_gql.user import service as user_service


def one(type_name: str, where: Any) -> Any:
    """A root field's object: the row of `type_name` matching `where(table)`, or null."""

    def build(b: Builder, row: Any, selected: Selected) -> Any:
        target = TABLES[type_name].alias()
        condition = where(b, selected.args, target)
        if condition is None:
            return null()
        query = select(b.object(type_name, target, selected.nodes)).where(condition).limit(1)
        return b.dialect.nested(query.scalar_subquery())

    return Custom(build)


def by_global_id(type_name: str, argument: str = "id") -> Custom:
    def where(b: Builder, args: dict[str, Any], target: Any) -> Any:
        try:
            return target.c.id == parse_global_id(args[argument], type_name, argument)
        except DomainError:
            return None

    return one(type_name, where)


def _me(b: Builder, args: dict[str, Any], target: Any) -> Any:
    return target.c.id == b.viewer_id if b.signed_in else None


def _user_by(b: Builder, args: dict[str, Any], target: Any) -> Any:
    by = args["by"]
    username = getattr(by, "username", None) or None
    user_id = getattr(by, "id", None)
    if user_id:
        try:
            return target.c.id == parse_global_id(user_id, "User", "by.id")
        except DomainError:
            return None
    return func.lower(target.c.username) == (username or "").strip().lower()


def _tasks(b: Builder, args: dict[str, Any], parent: uuid.UUID | None) -> Any:
    order = args.get("order_by")
    return task_queries.task_listing(
        task_filter(args.get("filter")),
        task_queries.TaskOrder(
            field=order.field.value if order else "created_at",
            descending=(order.direction.value == "desc") if order else True,
        ),
    )


def _users(b: Builder, args: dict[str, Any], parent: uuid.UUID | None) -> Any:
    wanted = args.get("filter")
    return user_service.user_listing(
        search=getattr(wanted, "search", None), skill=getattr(wanted, "skill", None)
    )


def _unsupported(reason: str) -> Any:
    def build(b: Builder, args: dict[str, Any], parent: Any) -> Any:
        raise Unsupported(reason)

    return build


# The Node types whose `resolve_nodes` is a plain load by id (graphql/nodes.py `load_nodes`).
PLAIN_NODES = ("Task", "User", "Skill", "Contribution", "Verification", "Vouch")
# The Node types loaded by id and then shown only to some viewers: type -> (builder, row) ->
# the condition (registered by their mappings: Evidence, CreditAccount).
VISIBLE_NODES: dict[str, Any] = {}


def _node(b: Builder, global_id: str, nodes: list[Any]) -> Any:
    """What `node(id:)` answers for one id (graphql/nodes.py): null unless it names a Node."""
    try:
        parsed = relay.GlobalID.from_id(global_id)
        key = uuid.UUID(parsed.node_id)
    except ValueError:
        return null()
    definition = b.strawberry.get_type_by_name(parsed.type_name)
    origin = getattr(definition, "origin", None)
    if not (
        isinstance(definition, StrawberryObjectDefinition)
        and isinstance(origin, type)
        and issubclass(origin, relay.Node)
    ):
        return null()
    visible = VISIBLE_NODES.get(parsed.type_name)
    if parsed.type_name not in PLAIN_NODES and visible is None:
        raise Unsupported(f"node {parsed.type_name}")
    target = TABLES[parsed.type_name].alias()
    condition = target.c.id == key
    if visible is not None:
        condition = and_(condition, visible(b, target))
    query = select(b.object(parsed.type_name, target, nodes)).where(condition).limit(1)
    return b.dialect.nested(query.scalar_subquery())


def _one_node(b: Builder, row: Any, selected: Selected) -> Any:
    return _node(b, selected.args["id"], selected.nodes)


def _many_nodes(b: Builder, row: Any, selected: Selected) -> Any:
    return b.dialect.values([_node(b, value, selected.nodes) for value in selected.args["ids"]])


register(
    "Query",
    None,
    node=Custom(_one_node),
    nodes=Custom(_many_nodes),
    task=by_global_id("Task"),
    me=one("User", _me),
    user=one("User", _user_by),
    tasks=Connection(_tasks, nested=False),
    users=Connection(_users, nested=False),
    skills=Connection(
        lambda b, args, parent: skill_service.skill_listing(args.get("search")), nested=False
    ),
)
