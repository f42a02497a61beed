"""What a document may ask for, checked before any resolver runs.

- Tokens: graphql-core's parser stops past `graphql_max_tokens`.
- Depth, aliases, directives, and one credential mutation per operation: a validation rule, so
  that the ValidationCache keeps its verdict per document. Strawberry's QueryDepthLimiter and
  MaxAliasesLimiter walk fragment spreads without memoising them, which is exponential: 22
  fragments that each spread the next one three times keep a worker busy for hours. This rule
  measures each fragment once (graphql/cost.py's DocumentShape).
- Introspection: graphql-core's MaxIntrospectionDepthRule (one of its specified rules); with
  GOTONG_ENV=production, NoSchemaIntrospectionCustomRule for everyone but admins, and no
  "Did you mean" suggestions.
- Cost (depends on the variables, so after validation): GitHub's node count (graphql/cost.py's
  CostCounter). A connection with `first: N` (or `last: N`) counts N nodes and multiplies the
  cost of what is selected below it (a nested connection without either counts its default of
  10); `nodes(ids)` counts one node per id; an unpaginated list multiplies what is below by its
  documented bound.
  A document over `graphql_max_cost` is refused; the cost is reported in `extensions.cost`.
- Rate limits (ratelimit.py): the query's points (1 + nodes // 100) are charged to the user or
  the IP before execution; tokenCreate and accountRegister have their own, stricter, windows
  (graphql/credentials.py).

Refusals never reach a resolver, so they run no SQL. Only an introspection query in production
looks up the viewer's roles (to let admins through).
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    ValidationContext,
    ValidationRule,
    get_operation_ast,
    get_variable_values,
    visit,
)
from graphql.language import Visitor
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from gotong_gql.graphql.cost import CostCounter, DocumentShape, points_for, response_key
from gotong_gql.graphql.credentials import (
    CREDENTIAL_FIELDS,
    charge_credentials,
    client_ip,
    rate_limited,
    refund_login,
)
from gotong_gql.graphql.inputs import nul_in_inputs
from gotong_gql.ratelimit import Decision, Policies, RateLimiter
from gotong_gql.settings import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
MAX_SAFE_INTEGER = 2**53 - 1
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


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


@dataclass
class GraphQLGuard:
    """The per-app policy the QueryGuard extension applies (the view puts it on request.state)."""

    limits: QueryLimits
    production: bool
    policies: Policies
    limiter: RateLimiter | None

    @classmethod
    def from_settings(cls, settings: Settings) -> GraphQLGuard:
        return cls(
            limits=QueryLimits.from_settings(settings),
            production=settings.is_production,
            policies=Policies.from_settings(settings),
            limiter=RateLimiter(settings.redis_url) if settings.rate_limit_enabled else None,
        )

    @property
    def rule(self) -> type[ValidationRule]:
        limits = self.limits
        return limits_rule(limits.max_depth, limits.max_aliases, limits.max_directives)

    async def close(self) -> None:
        if self.limiter is not None:
            await self.limiter.close()

    async def charge(self, request: Any, user_id: Any, points: int) -> Decision | None:
        """Charge a request's points to its user (signed in) or its IP (anonymous); the
        decision is kept on request.state for the response headers."""
        if self.limiter is None:
            return None
        precharged = getattr(request.state, "precharged", None)
        if precharged is not None:
            # The compiled path (compiler/read_path.py) charged this request, then handed it on.
            request.state.precharged = None
            request.state.rate_limit = precharged
            request.state.rate_limit_charged = True
            return precharged
        if user_id is not None:
            decision = await self.limiter.hit(
                self.policies.user, "query", "user", str(user_id), cost=points
            )
        else:
            decision = await self.limiter.hit(
                self.policies.ip, "query", "ip", client_ip(request), cost=points
            )
        request.state.rate_limit = decision
        request.state.rate_limit_charged = True
        return decision


def guard_of(context: Any) -> GraphQLGuard | None:
    request = getattr(context, "request", None)
    state = getattr(request, "state", None)
    return getattr(state, "graphql_guard", None) if state is not None else None


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
            errors = [_without_suggestions(error) for error in errors]
        result.errors = errors

    async def on_parse(self) -> AsyncIterator[None]:
        yield
        guard = self._guard
        context = self.execution_context
        if guard is None or not guard.production or context.graphql_document is None:
            return
        document = context.graphql_document
        if _asks_for_introspection(context.query, document) and not await self._viewer_is_admin():
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
                guard.limiter, guard.policies, schema, shape, operation, variables, context.context
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


def _asks_for_introspection(query: str | None, document: DocumentNode) -> bool:
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


def classify_parse_error(error: GraphQLError, limits: QueryLimits) -> GraphQLError:
    """Syntax errors get their code here (Strawberry's ParserCache raises them outside the
    operation hooks, so ErrorReporting never sees them)."""
    if not isinstance(error, GraphQLSyntaxError) or (error.extensions or {}).get("code"):
        return error
    if "contains more than" in error.message and "tokens" in error.message:
        extensions = {
            "code": QUERY_TOO_COMPLEX,
            "limit": "tokens",
            "maximum": limits.max_tokens,
        }
    else:
        extensions = {"code": GRAPHQL_PARSE_FAILED}
    error.extensions = {**(error.extensions or {}), **extensions}
    return error


def _without_suggestions(error: GraphQLError) -> GraphQLError:
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
