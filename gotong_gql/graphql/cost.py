"""The shape and the cost of a document, each fragment measured once (linear time).

`DocumentShape`: depth, aliases and the fields of one level, for the limits rule. `CostCounter`:
GitHub's node count with the request's variables: a connection with `first: N` (or `last: N`)
counts N nodes and multiplies the cost of what is selected below it (a nested connection without
either counts its default of 10); `nodes(ids)` counts one node per id; an unpaginated list
multiplies what is below it by its documented bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
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

from gotong_gql.graphql.pagination import NESTED_PAGE_SIZE

# A list without `first` multiplies the cost below it by this bound (README: a task has at most
# 10 skills, a user at most 50).
UNPAGINATED_LIST_SIZE = 50


def response_key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


class DocumentShape:
    """Depth, aliases and root fields of a document, each fragment measured once (linear)."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._depths: dict[str, int] = {}
        self._aliases: dict[str, int] = {}
        self._entered: set[tuple[int, str]] = set()

    def depth(self, selection_set: SelectionSetNode) -> int:
        """Fields on the longest path; introspection (`__schema`, `__type`) is left to
        MaxIntrospectionDepthRule."""
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in ("__schema", "__type"):
                    continue
                below = self.depth(selection.selection_set) if selection.selection_set else 0
                deepest = max(deepest, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment(selection, self._depths, self.depth))
        return deepest

    def aliases(self, selection_set: SelectionSetNode) -> int:
        """Aliased fields as executed: a fragment spread twice counts twice."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += selection.alias is not None
                if selection.selection_set:
                    total += self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection, self._aliases, self.aliases)
        return total

    def fields(self, selection_set: SelectionSetNode) -> list[FieldNode]:
        """The fields of one level, through inline fragments and spreads (each fragment once)."""
        found: list[FieldNode] = []
        seen: set[str] = set()
        pending = list(reversed(selection_set.selections))
        while pending:
            selection = pending.pop()
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                pending.extend(reversed(selection.selection_set.selections))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    seen.add(name)
                    pending.extend(reversed(fragment.selection_set.selections))
        return found

    def _fragment(
        self,
        spread: FragmentSpreadNode,
        memo: dict[str, int],
        measure: Callable[[SelectionSetNode], int],
    ) -> int:
        name = spread.name.value
        if name in memo:
            return memo[name]
        fragment = self.fragments.get(name)
        entered = (id(memo), name)
        if fragment is None or entered in self._entered:
            return 0  # unknown fragments and cycles are reported by graphql-core's rules
        self._entered.add(entered)
        try:
            memo[name] = measure(fragment.selection_set)
        finally:
            self._entered.discard(entered)
        return memo[name]


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
