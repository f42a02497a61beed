"""How one field of one GraphQL type becomes SQL: the kinds of field the mappings are made of.

A spec's `sql(builder, row, selected)` returns the SQL expression of the field's JSON value for
the row `row` (a FROM whose columns are the type's table's, by name). The mappings
(compiler/mappings/) say which spec each field has; a plain field (no resolver) whose name is a
column of the type's table needs none (registry.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType
from sqlalchemy import Table, case, func, null, select

from gotong_gql.compiler.build import Builder, Selected, Unsupported


class Spec:
    def sql(self, b: Builder, row: Any, selected: Selected) -> Any:  # pragma: no cover
        raise NotImplementedError


def object_type(selected: Selected) -> GraphQLObjectType:
    named = selected.named_type
    if not isinstance(named, GraphQLObjectType):
        raise Unsupported(f"abstract {named.name}")
    return named


def is_list(graphql_type: Any) -> bool:
    if isinstance(graphql_type, GraphQLNonNull):
        graphql_type = graphql_type.of_type
    return isinstance(graphql_type, GraphQLList)


@dataclass(frozen=True)
class Column(Spec):
    """A column, converted by the field's type."""

    name: str

    def sql(self, b: Builder, row: Any, selected: Selected) -> Any:
        return b.leaf(row.c[self.name], selected.type)


@dataclass(frozen=True)
class GlobalId(Spec):
    """A Node's `id`: base64 of `<Type>:<uuid>` (Strawberry's relay form)."""

    type_name: str
    column: str = "id"

    def sql(self, b: Builder, row: Any, selected: Selected) -> Any:
        return b.dialect.global_id(self.type_name, row.c[self.column])


@dataclass(frozen=True)
class Computed(Spec):
    """Any expression of the row (and the viewer), converted by the field's type."""

    expression: Callable[[Builder, Any], Any]
    convert: bool = True

    def sql(self, b: Builder, row: Any, selected: Selected) -> Any:
        value = self.expression(b, row)
        return b.leaf(value, selected.type) if self.convert else value


@dataclass(frozen=True)
class Join(Spec):
    """Another type's object (or null) found by a condition on the two rows; with `order`, the
    list of all of them (never null)."""

    table: Table
    on: Callable[[Any, Any], Any]  # (row, target) -> condition
    order: Callable[[Any], list[Any]] | None = None  # target -> ORDER BY, for a list
    visible: Callable[[Builder, Any], Any] | None = None  # (builder, row) -> condition

    def sql(self, b: Builder, row: Any, selected: Selected) -> Any:
        type_name = object_type(selected).name
        target = self.table.alias()
        condition = self.on(row, target)
        if not is_list(selected.type):
            query = (
                select(b.object(type_name, target, selected.nodes))
                .where(condition)
                .correlate(row)
                .limit(1)
            )
            value = b.dialect.nested(query.scalar_subquery())
        else:
            assert self.order is not None
            ordered = select(target).where(condition).correlate(row).order_by(*self.order(target))
            inner = ordered.add_columns(ordinal(self.order(target))).subquery()
            element = b.object(type_name, inner, selected.nodes)
            query = select(b.dialect.array(element, inner.c.gql_n)).select_from(inner)
            value = b.dialect.nested(query.scalar_subquery())
        if self.visible is not None:
            return when(b, self.visible(b, row), value)
        return value


def ordinal(order: list[Any]) -> Any:
    """The rows' number in `order` (what a list's JSON array is ordered by)."""
    return func.row_number().over(order_by=order).label("gql_n")


@dataclass(frozen=True)
class Refused(Spec):
    """A field the compiler leaves to the executor (it calls out, or is not worth compiling)."""

    reason: str

    def sql(self, b: Builder, row: Any, selected: Selected) -> Any:
        raise Unsupported(self.reason)


@dataclass(frozen=True)
class Custom(Spec):
    """A spec written as a function, for the few fields that fit no kind above."""

    build: Callable[[Builder, Any, Selected], Any]

    def sql(self, b: Builder, row: Any, selected: Selected) -> Any:
        return self.build(b, row, selected)


def when(b: Builder, condition: Any, value: Any) -> Any:
    """`value` where `condition` holds for the viewer, else null."""
    return case((b.dialect.truth(condition), value), else_=null())
