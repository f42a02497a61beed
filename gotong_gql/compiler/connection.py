"""Relay connections in SQL, from the same `Listing` (filtered SELECT and keyset order) that the
services give the executor's `paginate`, so that both paths page alike by construction.

The page is the listing's rows beyond `after`/`before` in the order (read backwards for `last`),
one more than asked (that row tells `hasNextPage` of a forward page, as keyset.py does), numbered
by `row_number()` in the reading order. `edges` aggregate the first `size` of them back in the
order of the list; `pageInfo` and `totalCount` are subqueries of the same listing, present only
when selected. A nested connection's listing is built for a stand-in parent id (`PARENT`), which
is then replaced by the parent row's column, so the service's listing code is used unchanged.

Cursors are computed in SQL, byte for byte as graphql/pagination.py encodes them (the expression
its docstring gives; on SQLite a registered function, `gql_cursor`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLObjectType, get_named_type
from sqlalchemy import Text, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from gotong_gql.compiler.build import Builder, Selected, Unsupported
from gotong_gql.compiler.dialect import quote
from gotong_gql.compiler.registry import TABLES
from gotong_gql.compiler.specs import Spec, object_type
from gotong_gql.errors import DomainError
from gotong_gql.graphql.errors import ApiError
from gotong_gql.graphql.pagination import PageArgs, encode_cursor, window
from gotong_gql.keyset import Key, Listing, Order, _beyond, _ones, _sorting

PARENT = uuid.UUID("6a7e0000-0000-4000-8000-00000000c0de")  # a stand-in, replaced in the SQL
ListingOf = Callable[[Builder, dict[str, Any], uuid.UUID | None], Listing]


@dataclass(frozen=True)
class Connection(Spec):
    """A connection field. `listing(builder, args, parent)` is the service's listing for the
    field's arguments (`parent` is PARENT for a nested one, None at the root)."""

    listing: ListingOf
    nested: bool = True
    parent_column: str = "id"

    def sql(self, b: Builder, row: Any, selected: Selected) -> Any:
        args = selected.args
        try:
            listing = self.listing(b, args, PARENT if self.nested else None)
            page_args = PageArgs(
                args.get("first"), args.get("after"), args.get("last"), args.get("before")
            )
            wanted = window(listing.order, page_args, nested=self.nested)
        except (DomainError, ApiError) as exc:
            raise Unsupported("refused arguments") from exc
        # The node's own columns (a listing may select joined rows too, as the vouches' does).
        table = TABLES[node_type(object_type(selected))]
        query = listing.query.with_only_columns(*table.c)
        if self.nested:
            query = _correlated(query, row.c[self.parent_column], row)
        return connection(b, Listing(query, listing.order), wanted, selected)


def node_type(connection_type: GraphQLObjectType) -> str:
    edge = get_named_type(connection_type.fields["edges"].type)
    return get_named_type(edge.fields["node"].type).name


def _correlated(query: Any, parent: Any, row: Any) -> Any:
    def replace(element: Any) -> Any:
        if isinstance(element, BindParameter) and element.value == PARENT:
            return parent
        return None

    return visitors.replacement_traverse(query, {}, replace).correlate(row)


def connection(b: Builder, listing: Listing, wanted: Any, selected: Selected) -> Any:
    connection_type = object_type(selected)
    keys = listing.order.keys
    sorting = _sorting(keys, reverse=wanted.backward)
    conditions = []
    if wanted.after is not None:
        conditions.append(_beyond(keys, wanted.after, forward=True, inclusive=False))
    if wanted.before is not None:
        conditions.append(_beyond(keys, wanted.before, forward=False, inclusive=False))
    page = (
        listing.query.add_columns(
            *(key.column.label(f"page_key_{i}") for i, key in enumerate(keys)),
            func.row_number().over(order_by=sorting).label("gql_n"),
        )
        .where(*conditions)
        .order_by(None)
        .order_by(*sorting)
        .limit(wanted.size + 1)
        .subquery()
    )
    ordinal = page.c.gql_n.desc() if wanted.backward else page.c.gql_n
    edges = select(page).where(page.c.gql_n <= wanted.size).order_by(ordinal).subquery()
    edge_ordinal = -edges.c.gql_n if wanted.backward else edges.c.gql_n
    more = select(page.c.gql_n).where(page.c.gql_n > wanted.size).exists()

    def reaches(position: Any, forward: bool) -> Any:
        if position is None:
            return literal_column("1 = 0")
        return _ones(listing.query).where(_beyond(keys, position, forward, True)).exists()

    after_rows = reaches(wanted.after, forward=False)
    before_rows = reaches(wanted.before, forward=True)
    has_next = before_rows if wanted.backward else (more | before_rows)
    has_previous = (more | after_rows) if wanted.backward else after_rows

    def end(first: bool) -> Any:
        direction = edge_ordinal if first else edge_ordinal.desc()
        value = select(cursor(b, listing.order, edges)).order_by(direction).limit(1)
        return value.scalar_subquery()

    pairs = []
    for field in b.selections(connection_type, selected.nodes):
        name = field.nodes[0].name.value
        if name == "__typename":
            pairs.append((field.name, quote(connection_type.name)))
        elif name == "totalCount":
            count = select(func.count()).select_from(_ones(listing.query).subquery())
            pairs.append((field.name, count.scalar_subquery()))
        elif name == "pageInfo":
            info_type = object_type(field)
            values = {
                "hasNextPage": b.dialect.boolean(has_next),
                "hasPreviousPage": b.dialect.boolean(has_previous),
            }
            info = []
            for part in b.selections(info_type, field.nodes):
                key = part.nodes[0].name.value
                if key == "__typename":
                    info.append((part.name, quote(info_type.name)))
                elif key in values:
                    info.append((part.name, values[key]))
                else:
                    info.append((part.name, end(key == "startCursor")))
            pairs.append((field.name, b.dialect.obj(info)))
        elif name == "edges":
            element = _edge(b, object_type(field), listing.order, edges, field)
            aggregate = select(b.dialect.array(element, edge_ordinal)).select_from(edges)
            aggregate = aggregate.scalar_subquery()
            pairs.append((field.name, b.dialect.nested(aggregate)))
        else:
            raise Unsupported(f"{connection_type.name}.{name}")
    return b.dialect.obj(pairs)


def _edge(b: Builder, edge_type: GraphQLObjectType, order: Order, row: Any, field: Selected) -> Any:
    pairs = []
    for part in b.selections(edge_type, field.nodes):
        key = part.nodes[0].name.value
        if key == "__typename":
            pairs.append((part.name, quote(edge_type.name)))
        elif key == "cursor":
            pairs.append((part.name, cursor(b, order, row)))
        else:
            pairs.append((part.name, b.object(object_type(part).name, row, part.nodes)))
    return b.dialect.obj(pairs)


# Cursors --------------------------------------------------------------------------------------


def cursor(b: Builder, order: Order, row: Any) -> Any:
    values = [row.c[f"page_key_{i}"] for i in range(len(order.keys))]
    if not b.dialect.pg:
        kinds = ",".join(("n" if key.nullable else "") + key.kind for key in order.keys)
        return func.gql_cursor(quote(order.node), quote(order.name), quote(kinds), *values)
    parts = [
        literal_column("'['"),
        func.to_json(cast(quote(order.node), Text)),
        literal_column("','"),
        func.to_json(cast(quote(order.name), Text)),
    ]
    for key, value in zip(order.keys, values, strict=True):
        parts += [literal_column("','"), _pg_key(key, value)]
    parts.append(literal_column("']'"))
    text: Any = cast(parts[0], Text)
    for part in parts[1:]:
        text = text.op("||")(part)
    encoded = func.encode(
        func.convert_to(text, literal_column("'UTF8'")), literal_column("'base64'")
    )
    return func.translate(encoded, literal_column("E'+/=\\n'"), literal_column("'-_'"))


def _pg_key(key: Key, value: Any) -> Any:
    if key.kind == "timestamp":
        form = func.to_json(
            func.to_char(
                func.timezone(literal_column("'UTC'"), value),
                literal_column('\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\''),
            )
        )
    elif key.kind == "float":
        double = cast(value, DOUBLE_PRECISION)
        form = func.to_json(func.encode(func.float8send(double), literal_column("'hex'")))
    elif key.kind == "int":
        form = cast(value, Text)
    elif key.kind == "uuid":
        form = func.to_json(cast(value, Text))
    else:
        form = func.to_json(cast(value, Text))
    form = cast(form, Text)
    return func.coalesce(form, literal_column("'null'")) if key.nullable else form


def _sqlite_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "timestamp":
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if kind == "uuid":
        return uuid.UUID(str(value))
    if kind == "float":
        return float(value)
    return value


def _sqlite_cursor(node: str, order_name: str, kinds: str, *values: Any) -> str:
    parts = [kind.removeprefix("n") for kind in kinds.split(",")]
    keys = tuple(Key(None, kind) for kind in parts)  # type: ignore[arg-type]
    position = tuple(_sqlite_value(kind, v) for kind, v in zip(parts, values, strict=True))
    return encode_cursor(Order(node, order_name, keys), position)


FUNCTIONS = {"gql_cursor": (-1, _sqlite_cursor)}
