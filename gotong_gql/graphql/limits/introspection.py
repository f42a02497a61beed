"""Introspection in production: only admins may ask for the schema, and nobody gets "Did you
mean" suggestions (they would spell out the schema one guess at a time)."""

from __future__ import annotations

import re
from typing import Any

from graphql import BREAK, DocumentNode, FieldNode, GraphQLError, visit
from graphql.language import Visitor

_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def asks_for_introspection(query: str | None, document: DocumentNode) -> bool:
    if query is not None and "__schema" not in query and "__type" not in query:
        return False
    found = False

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *_args: Any) -> Any:
            nonlocal found
            if node.name.value in ("__schema", "__type"):
                found = True
                return BREAK
            return None

    visit(document, Finder())
    return found


def without_suggestions(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    # A new error: validation errors are shared by the ValidationCache.
    return GraphQLError(
        message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
    )
