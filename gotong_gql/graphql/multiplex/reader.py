"""The read of a group's event, once per visibility class: the step a compiled plan plugs into.

`GroupReader` is the interface. `prepare(plan)` runs once per group (when its first member
joins) and returns whatever the reader needs for every event of that operation: a graphql-core
Executor here, a compiled plan later. `read(prepared, viewer, root, scope)` maps one source event
(`root`, the subscription field's value: what graphql-core passes as root value when it maps a
source event to a response) to the `next` payload for `viewer`, serialised once: the group writes
the same text to every member it applies to. It answers with `Reading.singled_out`, the users
whose payload may differ from this one (see scope.py): a compiled plan that knows its rules
statically may answer the ids its rules compare the viewer with (e.g. the task's creator and
assignee), or None to have each member read as themselves.

`ExecutorReader` is today's reader: graphql-core's `execute_subscription_event` (the
ExecuteSubscriptionEvent algorithm) with the event as root value and a `ReadContext` (the class's
probe, or a member) as context, on a per-read copy of the group's Executor. The copy gets its own
subfield cache: graphql-core shares one between an executor and its per-event copies, and it grows
with every event (its keys are the ids of lists made anew each time).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import GraphQLError, parse
from graphql.execution import Executor, execute_subscription_event
from strawberry.execution import optimized_is_awaitable
from strawberry.schema import Schema

from gotong_gql import metrics
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import ErrorReporting
from gotong_gql.graphql.multiplex.scope import EventScope


@dataclass(frozen=True, slots=True)
class Plan:
    """A group's operation: the document (as sent, or from the persisted-query manifest), the
    operation's name and the variables, as the subscribe message gave them."""

    query: str
    operation_name: str | None
    variables: Mapping[str, Any]

    @property
    def document_hash(self) -> str:
        return hashlib.sha256(self.query.encode()).hexdigest()

    @property
    def key(self) -> tuple[str, str | None, str]:
        variables = json.dumps(self.variables, sort_keys=True, separators=(",", ":"))
        return self.document_hash, self.operation_name, variables


@dataclass(frozen=True, slots=True)
class ReadViewer:
    """Who a read is for: a visibility class (`user_id` None: nobody in particular, with these
    roles) or one member of it, as themselves. `base` is a member's connection context, for what
    a resolver may want of the request (never the viewer)."""

    roles: frozenset[str]
    user_id: uuid.UUID | None
    base: Context


@dataclass(frozen=True, slots=True)
class Reading:
    payload: str  # the `next` message's payload (JSON text, as WebSocket text frames carry it)
    singled_out: frozenset[uuid.UUID] | None  # None: read each member as themselves


class GroupReader(Protocol):
    def prepare(self, plan: Plan) -> Any: ...

    async def read(
        self, prepared: Any, viewer: ReadViewer, root: Any, scope: EventScope
    ) -> Reading: ...


def compact_json(value: object) -> str:
    """As Strawberry encodes WebSocket messages (`encode_json`), so that the frames are the same."""
    return json.dumps(value, separators=(",", ":"))


class ExecutorReader:
    """graphql-core's executor, once per class and event."""

    def __init__(self, schema: Schema, encode: Callable[[object], str] = compact_json) -> None:
        self.schema = schema
        self.encode = encode
        if any(extension._implements_resolve() for extension in schema.get_extensions()):
            # Strawberry would wrap every resolver in such an extension; these reads do not.
            raise RuntimeError("an extension with a resolve hook: multiplexed reads skip it")

    def prepare(self, plan: Plan) -> Executor:
        built = self.schema.execution_context_class.build(
            self.schema._schema,
            parse(plan.query),
            raw_variable_values=dict(plan.variables),
            operation_name=plan.operation_name,
            is_awaitable=optimized_is_awaitable,
        )
        if isinstance(built, list):  # the subscribe phase has validated this very operation
            raise built[0]
        return built

    async def read(
        self, prepared: Executor, viewer: ReadViewer, root: Any, scope: EventScope
    ) -> Reading:
        metrics.SUBSCRIPTION_READS.labels("class" if viewer.user_id is None else "own").inc()
        context = scope.context(viewer.base, viewer.roles, viewer.user_id)
        executor = prepared.build_per_event_executor(root)
        executor.context_value = context
        executor._relevant_sub_fields = {}  # not the group's: it would grow with every event
        result = execute_subscription_event(executor)
        if optimized_is_awaitable(result):
            result = await result
        singled_out = context.singled_out()
        if singled_out is None:
            return Reading("", None)  # of no use: nothing to serialise, no error to log
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [self._reported(error, context) for error in result.errors]
        return Reading(self.encode(payload), singled_out)

    def _reported(self, error: GraphQLError, context: Context) -> dict[str, Any]:
        """Logged as Strawberry logs an event's errors; an unexpected one masked (INTERNAL), as
        ErrorReporting does for queries."""
        self.schema.process_errors([error])
        return ErrorReporting._report(error, context.request_id).formatted
