"""The limits rule: depth, aliases, directives, and at most one credential mutation per
operation, checked as a validation rule so that the ValidationCache keeps its verdict per
document; each fragment is measured once (shape.py)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    ValidationContext,
    ValidationRule,
)

from gotong_gql.graphql.limits.credentials import CREDENTIAL_FIELDS
from gotong_gql.graphql.limits.shape import DocumentShape, response_key
from gotong_gql.settings import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
MAX_SAFE_INTEGER = 2**53 - 1


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int
    max_aliases: int
    max_directives: int
    max_tokens: int
    max_cost: int

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_directives=settings.graphql_max_directives,
            max_tokens=settings.graphql_max_tokens,
            max_cost=settings.graphql_max_cost,
        )


def too_complex(
    message: str, limit: str, maximum: int, actual: int, nodes: Any = None
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes,
        extensions={
            "code": QUERY_TOO_COMPLEX,
            "limit": limit,
            "maximum": maximum,
            "actual": min(actual, MAX_SAFE_INTEGER),
        },
    )


@functools.cache
def limits_rule(max_depth: int, max_aliases: int, max_directives: int) -> type[ValidationRule]:
    """One rule class per set of limits, so that the ValidationCache recognises it."""

    class QueryLimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.directives = 0

        def enter_directive(self, *_args: Any) -> None:
            self.directives += 1

        def leave_document(self, node: DocumentNode, *_args: Any) -> None:
            # After the whole visit: graphql-core has aborted fragment chains too deep to walk.
            shape = DocumentShape(node)
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    self._check_operation(shape, definition)
            if self.directives > max_directives:
                self.report_error(
                    too_complex(
                        f"the document has {self.directives} directives; at most {max_directives}",
                        "directives",
                        max_directives,
                        self.directives,
                    )
                )

        def _check_operation(self, shape: DocumentShape, operation: OperationDefinitionNode):
            name = operation.name.value if operation.name else "anonymous"
            depth = shape.depth(operation.selection_set)
            if depth > max_depth:
                self.report_error(
                    too_complex(
                        f"operation '{name}' is {depth} fields deep; at most {max_depth}",
                        "depth",
                        max_depth,
                        depth,
                        operation,
                    )
                )
            aliases = shape.aliases(operation.selection_set)
            if aliases > max_aliases:
                self.report_error(
                    too_complex(
                        f"operation '{name}' uses {min(aliases, MAX_SAFE_INTEGER)} aliases; at "
                        f"most {max_aliases}",
                        "aliases",
                        max_aliases,
                        aliases,
                        operation,
                    )
                )
            if operation.operation == OperationType.MUTATION:
                credentials = {
                    response_key(field)
                    for field in shape.fields(operation.selection_set)
                    if field.name.value in CREDENTIAL_FIELDS
                }
                if len(credentials) > 1:
                    self.report_error(
                        too_complex(
                            "at most one tokenCreate, accountRegister, oidcTokenCreate or "
                            "oidcIdentityLink per operation",
                            "credentialFields",
                            1,
                            len(credentials),
                            operation,
                        )
                    )

    return QueryLimitsRule
