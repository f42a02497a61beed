"""The QueryGuard schema extension: applies the app's GraphQLGuard (guard.py) to each operation,
in the order the package's docstring lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    get_variable_values,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from gotong_gql.graphql.limits.cost import CostCounter, points_for
from gotong_gql.graphql.limits.credentials import charge_credentials, refund_login
from gotong_gql.graphql.limits.guard import GraphQLGuard, guard_of
from gotong_gql.graphql.limits.introspection import asks_for_introspection, without_suggestions
from gotong_gql.graphql.limits.nul import nul_in_inputs
from gotong_gql.graphql.limits.rate import rate_limited
from gotong_gql.graphql.limits.rule import MAX_SAFE_INTEGER, too_complex
from gotong_gql.graphql.limits.shape import DocumentShape


class QueryGuard(SchemaExtension):
    """Applies the GraphQLGuard found on the request; does nothing without one."""

    def __init__(self, *, execution_context: Any = None) -> None:
        self.nodes: int | None = None
        self._admin: bool | None = None

    @property
    def _guard(self) -> GraphQLGuard | None:
        return guard_of(self.execution_context.context)

    async def on_operation(self) -> AsyncIterator[None]:
        guard = self._guard
        if guard is not None:
            context = self.execution_context
            context.parse_options["max_tokens"] = guard.limits.max_tokens
            # graphql-core's specified_rules include MaxIntrospectionDepthRule already.
            context.validation_rules = (*context.validation_rules, guard.rule)
        yield
        result = self.execution_context.result
        if guard is None or not getattr(result, "errors", None):
            return
        errors = list(result.errors)
        suggests = any("Did you mean" in error.message for error in errors)
        if guard.production and suggests and not await self._viewer_is_admin():
            errors = [without_suggestions(error) for error in errors]
        result.errors = errors

    async def on_parse(self) -> AsyncIterator[None]:
        yield
        guard = self._guard
        context = self.execution_context
        if guard is None or not guard.production or context.graphql_document is None:
            return
        document = context.graphql_document
        if asks_for_introspection(context.query, document) and not await self._viewer_is_admin():
            context.validation_rules = (*context.validation_rules, NoSchemaIntrospectionCustomRule)

    async def on_execute(self) -> AsyncIterator[None]:
        guard = self._guard
        context = self.execution_context
        document = context.graphql_document
        operation = (
            get_operation_ast(document, context.operation_name) if document is not None else None
        )
        if guard is None or operation is None:
            yield
            return
        request = context.context.request
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1 and not getattr(request.state, "operation_name_given", True):
            # Strawberry would run the first one; GraphQL's GetOperation() refuses.
            raise GraphQLError(
                "the document has several operations: name one with operationName",
                extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
            )
        schema = context.schema._schema
        variables = get_variable_values(
            schema, operation.variable_definitions or (), context.variables or {}
        )
        if isinstance(variables, list):
            yield  # graphql-core refuses these variables before running any resolver
            return
        nul = nul_in_inputs(document, variables.coerced)
        if nul is not None:
            raise nul
        shape = DocumentShape(document)
        root = schema.get_root_type(operation.operation)
        if root is None:
            yield
            return
        self.nodes = CostCounter(schema, shape, variables).count(operation.selection_set, root)
        if self.nodes > guard.limits.max_cost:
            raise too_complex(
                f"the query would fetch {min(self.nodes, MAX_SAFE_INTEGER)} nodes; at most "
                f"{guard.limits.max_cost} (each connection's `first` multiplies what is below it)",
                "cost",
                guard.limits.max_cost,
                self.nodes,
            )
        decision = await guard.charge(request, context.context.user_id, points_for(self.nodes))
        if decision is not None and not decision.allowed:
            raise rate_limited(decision, "query cost")
        login = None
        if guard.limiter is not None:
            login = await charge_credentials(
                guard.limiter,
                guard.policies,
                guard.account_of_login,
                schema,
                shape,
                operation,
                variables,
                context.context,
            )
        yield
        if login is not None and login.succeeded(shape, self.execution_context.result):
            assert guard.limiter is not None
            await refund_login(guard.limiter, login)

    def get_results(self) -> dict[str, Any]:
        """`extensions.cost` of queries and mutations (not of each subscription event)."""
        guard = self._guard
        context = self.execution_context
        if self.nodes is None or guard is None:
            return {}
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document else None
        if operation is None or operation.operation == OperationType.SUBSCRIPTION:
            return {}
        return {
            "cost": {
                "nodes": min(self.nodes, MAX_SAFE_INTEGER),
                "maxNodes": guard.limits.max_cost,
                "points": points_for(self.nodes),
            }
        }

    async def _viewer_is_admin(self) -> bool:
        if self._admin is None:
            context = self.execution_context.context
            viewer = await context.viewer() if context.user_id is not None else None
            self._admin = bool(viewer and viewer.is_admin)
        return self._admin
