"""The compiled path of /graphql: a query operation answered by one SQL statement, or handed to
the executor whole.

`answer` returns a response, or None: then the view runs the executor, which answers exactly as
before (every error, every refusal). The compiled path answers only what it can answer alike: a
valid query operation within the limits (the same parse, validation rules, cost counter and rate
limit as the executor's QueryGuard), with a valid token or none, whose every field the compiler
knows. Everything else is a fallback, counted by reason in `gotong_graphql_read_path_total` and
logged at debug level. A rate-limit charge made here is not made again by the executor
(`request.state.precharged`).

The response is the statement's JSON text with `extensions.cost` around it: the data is never
decoded and encoded again in Python (values only Python computes, late.py, are written into the
text in place of their markers).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from typing import Any

import structlog
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    specified_rules,
)
from graphql.execution.values import get_variable_values
from starlette.requests import Request
from starlette.responses import Response
from strawberry.schema.schema import validate_document

from gotong_gql import metrics
from gotong_gql.compiler import late, templates
from gotong_gql.compiler.build import Unsupported
from gotong_gql.compiler.plan import Plan, compile_operation
from gotong_gql.graphql import observability
from gotong_gql.graphql.limits.cost import CostCounter, points_for
from gotong_gql.graphql.limits.nul import nul_in_inputs
from gotong_gql.graphql.limits.rule import MAX_SAFE_INTEGER
from gotong_gql.graphql.limits.shape import DocumentShape
from gotong_gql.security import TokenError

log = structlog.get_logger("gotong_gql.compiler")
CACHE_SIZE = 1000


class Fallback(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Lru(OrderedDict[Any, Any]):
    def remember(self, key: Any, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > CACHE_SIZE:
            self.popitem(last=False)
        return value


class ReadPath:
    """Per app: the parsed documents and the plans, each in a bounded cache."""

    def __init__(self, schema: Any, guard: Any) -> None:
        self.strawberry = schema
        self.schema = schema._schema
        self.guard = guard
        self.documents: _Lru = _Lru()
        self.plans: _Lru = _Lru()
        self.settings: Any = None  # the settings the plans were made with
        self.templates_made = 0  # plans made for any ids (templates.py): tests count them

    async def answer(self, request: Request, params: Any, media_type: str, context: Any) -> Any:
        services = context.services
        if not services.settings.graphql_compiled_reads:
            return None
        started = time.perf_counter()
        try:
            return await self._answer(request, params, media_type, context, started)
        except Fallback as fallback:
            reason = fallback.reason
        except Exception:
            # A defect of the compiler must never cost the client its answer.
            log.warning("compiler failed", operation=params.operation_name, exc_info=True)
            reason = "error"
        metrics.READ_PATH.labels("executor", reason).inc()
        log.debug("executor", reason=reason, operation=params.operation_name)
        return None

    def _document(self, query: str | None) -> DocumentNode:
        if not query:
            raise Fallback("invalid")
        document = self.documents.get(query)
        if document is None:
            try:
                document = parse(query, max_tokens=self.guard.limits.max_tokens)
            except GraphQLError:
                document = False
            else:
                # Strawberry's validation (graphql-core's rules, its OneOf and Maybe rules) with
                # the guard's limits, as the executor validates.
                rules = (*specified_rules, self.guard.rule)
                if validate_document(self.schema, document, rules):
                    document = False
            self.documents.remember(query, document)
        if document is False:
            raise Fallback("invalid")
        return document

    async def _answer(
        self, request: Request, params: Any, media_type: str, context: Any, started: float
    ) -> Response:
        user_id = _user_id(context)
        settings = context.services.settings
        if settings is not self.settings:
            # Plans read settings (e.g. VOUCH_MIN_REPUTATION); settings are replaced, not changed.
            self.plans.clear()
            self.settings = settings
        key, entry, overrides = self._plan(params, context, user_id is not None)
        if isinstance(entry, str):
            raise Fallback(entry)
        plan, nodes, name = entry
        points = points_for(nodes)
        decision = await self.guard.charge(request, user_id, points)
        if decision is not None and not decision.allowed:
            request.state.precharged = decision
            raise Fallback("rate limited")
        try:
            data, viewer_exists, admitted = await plan.run(
                context.services.engine, user_id, overrides
            )
        except Exception:
            request.state.precharged = decision
            log.warning("compiled read failed", operation=params.operation_name, exc_info=True)
            self.plans.remember(key, "error")
            raise Fallback("error") from None
        if not viewer_exists:
            request.state.precharged = decision
            raise Fallback("viewer")
        if not admitted:
            request.state.precharged = decision
            raise Fallback("forbidden")
        if plan.late:
            try:
                data = await late.resolve(data, context.services)
            except Exception:
                request.state.precharged = decision
                log.warning("late values failed", operation=params.operation_name, exc_info=True)
                raise Fallback("late") from None
        cost = {
            "nodes": min(nodes, MAX_SAFE_INTEGER),
            "maxNodes": self.guard.limits.max_cost,
            "points": points,
        }
        body = b'{"data":%s,"extensions":%s}' % (
            data.encode(),
            json.dumps({"cost": cost}, separators=(",", ":")).encode(),
        )
        metrics.READ_PATH.labels("compiled", "").inc()
        observability.record(
            operation=name,
            codes=[],
            duration=time.perf_counter() - started,
            user_id=user_id,
            request_id=context.request_id,
            admit=True,
        )
        request.state.rate_limit_charged = True
        return Response(body, 200, media_type=f"{media_type}; charset=utf-8")

    def _plan(self, params: Any, context: Any, signed_in: bool) -> tuple[Any, Any, Any]:
        """The plan key, the entry (a plan, its cost and name; or a fallback reason) and the
        parameters to set: from a template for these ids (templates.py), else per variables."""
        key = self._key(params, signed_in)
        entry = self.plans.get(key)
        if entry is not None:
            return key, entry, None
        ids = templates.global_ids(params.variables)
        if ids:
            general = templates.general_key(params, signed_in, ids)
            made = self.plans.get(general)
            if made is None:
                made = self._template(params, context, signed_in, ids) or "none"
                self.plans.remember(general, made)
            if isinstance(made, templates.Template) and self._valid(params):
                return general, made.entry, made.overrides(ids)
        entry = self._entry(params, context, signed_in)
        self.plans.remember(key, entry)
        return key, entry, None

    def _entry(self, params: Any, context: Any, signed_in: bool) -> Any:
        try:
            return self._prepare(params, context, signed_in)
        except Fallback as fallback:
            return fallback.reason
        except Exception:
            # A defect of the compiler: logged once, and this operation left to the executor.
            log.warning("compiler failed", operation=params.operation_name, exc_info=True)
            return "error"

    def _template(
        self, params: Any, context: Any, signed_in: bool, ids: templates.GlobalIds
    ) -> templates.Template | None:
        uuids = ({name: uuid.uuid4() for name in ids}, {name: uuid.uuid4() for name in ids})
        made = [
            self._entry(templates.with_ids(params, ids, chosen), context, signed_in)
            for chosen in uuids
        ]
        if any(isinstance(entry, str) for entry in made):
            return None
        template = templates.template(made[0], made[1], uuids)
        if template is not None:
            self.templates_made += 1
        return template

    def _valid(self, params: Any) -> bool:
        """What `_prepare` checks of the variables' values, for a request a template answers."""
        operation = get_operation_ast(self._document(params.query), params.operation_name)
        assert operation is not None  # the template was made from this document and name
        variables = get_variable_values(
            self.schema, operation.variable_definitions or (), params.variables or {}
        )
        return not isinstance(variables, list)

    def _prepare(self, params: Any, context: Any, signed_in: bool) -> tuple[Plan, int, str | None]:
        """The plan and the cost of an operation, or Fallback: once per plan key."""
        document = self._document(params.query)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1 and params.operation_name is None:
            raise Fallback("invalid")
        operation = get_operation_ast(document, params.operation_name)
        if operation is None:
            raise Fallback("invalid")
        if operation.operation != OperationType.QUERY:
            raise Fallback(operation.operation.value)
        variables = get_variable_values(
            self.schema, operation.variable_definitions or (), params.variables or {}
        )
        if isinstance(variables, list) or nul_in_inputs(document, variables.coerced):
            raise Fallback("invalid")
        nodes = CostCounter(self.schema, DocumentShape(document), variables).count(
            operation.selection_set, self.schema.query_type
        )
        if nodes > self.guard.limits.max_cost:
            raise Fallback("invalid")
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        try:
            plan = compile_operation(
                strawberry_schema=self.strawberry,
                operation=operation,
                fragments=fragments,
                variables=variables,
                engine=context.services.engine,
                settings=context.services.settings,
                signed_in=signed_in,
            )
        except Unsupported as unsupported:
            raise Fallback(_bounded(unsupported.reason)) from None
        # The operation's name as the executor reports it (metrics, logs): the document's.
        return plan, nodes, operation.name.value if operation.name else None

    @staticmethod
    def _key(params: Any, signed_in: bool) -> Any:
        variables = json.dumps(params.variables or {}, sort_keys=True)
        return (params.query, params.operation_name, variables, signed_in)


def _user_id(context: Any) -> uuid.UUID | None:
    if not context.token:
        return None
    try:
        return context.services.tokens.decode(context.token, "access").user_id
    except TokenError:
        raise Fallback("token") from None


def _bounded(reason: str) -> str:
    """A metric label: the type and field, never a value."""
    return reason[:80]
