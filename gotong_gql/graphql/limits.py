"""What a document may ask for, checked before any resolver runs.

- Tokens: graphql-core's parser stops past `graphql_max_tokens`.
- Depth, aliases, directives, and one credential mutation per operation: a validation rule, so
  that the ValidationCache keeps its verdict per document. Strawberry's QueryDepthLimiter and
  MaxAliasesLimiter walk fragment spreads without memoising them, which is exponential: 22
  fragments that each spread the next one three times keep a worker busy for hours. This rule
  measures each fragment once.
- Introspection: graphql-core's MaxIntrospectionDepthRule (one of its specified rules); with
  GOTONG_ENV=production, NoSchemaIntrospectionCustomRule for everyone but admins, and no
  "Did you mean" suggestions.
- Cost (depends on the variables, so after validation): GitHub's node count. A connection with
  `first: N` (or `last: N`) counts N nodes and multiplies the cost of what is selected below it
  (a nested connection without either counts its default of 10); `nodes(ids)` counts one node
  per id; an unpaginated list multiplies what is below by its documented bound.
  A document over `graphql_max_cost` is refused; the cost is reported in `extensions.cost`.
- Rate limits (ratelimit.py): the query's points (1 + nodes // 100) are charged to the user or
  the IP before execution; tokenCreate and accountRegister have their own, stricter, windows.

Refusals never reach a resolver, so they run no SQL. Only an introspection query in production
looks up the viewer's roles (to let admins through).
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_argument_values,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    get_variable_values,
    is_list_type,
    visit,
)
from graphql.language import Visitor
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from gotong_gql.graphql.pagination import NESTED_PAGE_SIZE
from gotong_gql.ratelimit import Decision, Policies, RateLimiter, account_key, client_key
from gotong_gql.settings import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
RATE_LIMITED = "RATE_LIMITED"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
# tokenCreate and accountRegister: checked by a password (or create one); one per operation.
CREDENTIAL_FIELDS = frozenset({"tokenCreate", "accountRegister"})
# A list without `first` multiplies the cost below it by this bound (README: a task has at most
# 10 skills, a user at most 50).
UNPAGINATED_LIST_SIZE = 50
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


def rate_limited(decision: Decision, what: str) -> GraphQLError:
    return GraphQLError(
        f"rate limit exceeded ({what}); retry in {decision.retry_after} s",
        extensions={"code": RATE_LIMITED, "retryAfter": decision.retry_after},
    )


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
                            "at most one tokenCreate or accountRegister per operation",
                            "credentialFields",
                            1,
                            len(credentials),
                            operation,
                        )
                    )

    return QueryLimitsRule


def arguments(field: Any, node: FieldNode, variables: Any) -> dict[str, Any]:
    """A field's argument values (validated already; should one still not coerce, execution
    reports it and the limits count nothing for it)."""
    try:
        return get_argument_values(field, node, variables)
    except (GraphQLError, ValueError, TypeError):
        return {}


def _is_connection(type_: GraphQLNamedType) -> bool:
    fields = getattr(type_, "fields", None)
    return bool(fields) and "edges" in fields and "pageInfo" in fields


def _page_size(args: dict[str, Any]) -> int:
    """`first` or `last` (the larger, should both come: the resolver refuses that); without
    either, a nested connection's default (a root one refuses to run)."""
    sizes = [args[name] for name in ("first", "last") if isinstance(args.get(name), int)]
    return max(sizes) if sizes else NESTED_PAGE_SIZE


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


def client_ip(request: Any) -> str:
    client = getattr(request, "client", None)
    return client_key(client.host if client else None)


def guard_of(context: Any) -> GraphQLGuard | None:
    request = getattr(context, "request", None)
    state = getattr(request, "state", None)
    return getattr(state, "graphql_guard", None) if state is not None else None


def _credential_login(value: Any, name: str) -> str | None:
    found = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
    return found if isinstance(found, str) else None


def _selected(shape: DocumentShape, node: FieldNode, names: Iterable[str]) -> list[str]:
    if node.selection_set is None:
        return []
    wanted = set(names)
    return [
        response_key(field)
        for field in shape.fields(node.selection_set)
        if field.name.value in wanted
    ]


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
        login = await self._credentials(guard, schema, shape, operation, variables, request)
        yield
        if login is not None and not self._login_succeeded(shape, login):
            await self._count_failed_login(guard, login, request)

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

    async def _credentials(
        self,
        guard: GraphQLGuard,
        schema: GraphQLSchema,
        shape: DocumentShape,
        operation: OperationDefinitionNode,
        variables: Any,
        request: Any,
    ) -> tuple[FieldNode, str] | None:
        """Refuses tokenCreate and accountRegister past their windows. Returns the tokenCreate
        field and its login, whose failure is counted after execution."""
        if guard.limiter is None or operation.operation != OperationType.MUTATION:
            return None
        mutation = schema.mutation_type
        assert mutation is not None
        limiter, policies, ip = guard.limiter, guard.policies, client_ip(request)
        for node in shape.fields(operation.selection_set):
            name = node.name.value
            if name not in CREDENTIAL_FIELDS or name not in mutation.fields:
                continue
            data = arguments(mutation.fields[name], node, variables).get("input")
            if name == "tokenCreate":
                login = _credential_login(data, "login") or ""
                by_account = await limiter.peek(
                    policies.login_account, "login", "account", account_key(login)
                )
                by_ip = await limiter.peek(policies.login_ip, "login", "ip", ip)
                _refuse_unless_allowed(request, (by_account, by_ip), "failed logins")
                return node, login
            email = _credential_login(data, "email") or ""
            by_account = await limiter.hit(
                policies.register_account, "register", "account", account_key(email)
            )
            by_ip = await limiter.hit(policies.register_ip, "register", "ip", ip)
            _refuse_unless_allowed(request, (by_account, by_ip), "registrations")
        return None

    def _login_succeeded(self, shape: DocumentShape, login: tuple[FieldNode, str]) -> bool:
        """Whether the payload shows issued tokens. A client that selects none of them is
        counted as failing: refunds are only for answers an attacker cannot fake."""
        node, _ = login
        data = getattr(self.execution_context.result, "data", None) or {}
        payload = data.get(response_key(node))
        if not isinstance(payload, dict):
            return False
        issued = _selected(shape, node, ("accessToken", "refreshToken", "user"))
        return any(payload.get(key) is not None for key in issued)

    async def _count_failed_login(
        self, guard: GraphQLGuard, login: tuple[FieldNode, str], request: Any
    ) -> None:
        assert guard.limiter is not None
        _, identifier = login
        policies = guard.policies
        await guard.limiter.hit(policies.login_account, "login", "account", account_key(identifier))
        await guard.limiter.hit(policies.login_ip, "login", "ip", client_ip(request))

    async def _viewer_is_admin(self) -> bool:
        if self._admin is None:
            context = self.execution_context.context
            viewer = await context.viewer() if context.user_id is not None else None
            self._admin = bool(viewer and viewer.is_admin)
        return self._admin


def _refuse_unless_allowed(request: Any, decisions: Iterable[Decision], what: str) -> None:
    for decision in decisions:
        if not decision.allowed:
            request.state.rate_limit = decision
            raise rate_limited(decision, what)


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
