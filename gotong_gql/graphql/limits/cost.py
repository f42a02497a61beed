"""The cost of an operation with the request's variables: GitHub's node count, each fragment
counted once (linear time). A connection with `first: N` (or `last: N`) counts N nodes and
multiplies the cost of what is selected below it (a nested connection without either counts its
default of 10); `nodes(ids)` counts one node per id; an unpaginated list multiplies what is below
it by its documented bound.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_argument_values,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from gotong_gql.graphql.limits.shape import DocumentShape
from gotong_gql.graphql.pagination import NESTED_PAGE_SIZE

# A list without `first` multiplies the cost below it by this bound (README: a task has at most
# 10 skills, a user at most 50).
UNPAGINATED_LIST_SIZE = 50


def arguments(field: Any, node: FieldNode, variables: Any) -> dict[str, Any]:
    """A field's argument values (validated already; should one still not coerce, execution
    reports it and the limits count nothing for it)."""
    try:
        return get_argument_values(field, node, variables)
    except (GraphQLError, ValueError, TypeError):
        return {}


def _page_size(args: dict[str, Any]) -> int:
    """`first` or `last` (the larger, should both come: the resolver refuses that); without
    either, a nested connection's default (a root one refuses to run)."""
    sizes = [args[name] for name in ("first", "last") if isinstance(args.get(name), int)]
    return max(sizes) if sizes else NESTED_PAGE_SIZE


def _is_connection(type_: GraphQLNamedType) -> bool:
    fields = getattr(type_, "fields", None)
    return bool(fields) and "edges" in fields and "pageInfo" in fields


class CostCounter:
    """GitHub's node count of one operation, with the request's variables. Linear: the cost of
    a selection is proportional to its multiplier, so each fragment is counted once."""

    def __init__(self, schema: GraphQLSchema, shape: DocumentShape, variables: Any) -> None:
        self.schema = schema
        self.shape = shape
        self.variables = variables
        self._fragments: dict[str, int] = {}

    def count(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        total = 0
        fields = getattr(parent, "fields", None) or {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                field = fields.get(selection.name.value)
                if field is not None:  # introspection and unknown fields count nothing
                    total += self._field(selection, field, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                type_ = self.schema.get_type(condition.name.value) if condition else parent
                total += self.count(selection.selection_set, type_ or parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value)
        return total

    def _field(self, node: FieldNode, field: Any, parent: GraphQLNamedType) -> int:
        type_ = get_named_type(field.type)
        below = self.count(node.selection_set, type_) if node.selection_set else 0
        args = arguments(field, node, self.variables) if field.args else {}
        if _is_connection(type_):
            size = max(_page_size(args), 1)
            return size + size * below
        if isinstance(args.get("ids"), list):
            return len(args["ids"]) * (1 + below)
        if is_list_type(get_nullable_type(field.type)) and not _is_connection(parent):
            return UNPAGINATED_LIST_SIZE * below
        return below

    def _fragment(self, name: str) -> int:
        if name not in self._fragments:
            fragment = self.shape.fragments.get(name)
            self._fragments[name] = 0  # a cycle (refused by validation) counts nothing
            if fragment is not None:
                type_ = self.schema.get_type(fragment.type_condition.name.value)
                if type_ is not None:
                    self._fragments[name] = self.count(fragment.selection_set, type_)
        return self._fragments[name]


def points_for(nodes: int) -> int:
    """Rate-limit points of a query: 1, plus 1 per 100 nodes."""
    return 1 + nodes // 100
