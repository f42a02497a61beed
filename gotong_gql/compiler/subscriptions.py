"""Subscription events read by a compiled plan: one statement per event and group (issue 13).

A multiplexed group (graphql/multiplex/) reads each event once per visibility class through its
`GroupReader`. `CompiledReader` is that reader for the task subscriptions (`taskUpdated`,
`taskEvents`): their event is a `TaskEvent` whose `type` and `at` come with the message and whose
`task` is a row, so the selection under `task` is compiled as the query
`query($gqlEventTask: ID!) { <key>: task(id: $gqlEventTask) { ... } }` with the operation's own
variables and fragments, once per group. The task's id is the plan's run-time value (like the
viewer's): the plan is compiled with a random id no task has, and the statement parameters that
carry it are swapped for the event's task at each read. So one plan serves every event of the
group, whatever task it is about.

It answers for every member at once, and once per event (not once per class), only when the
plan reads nothing of the viewer (`Plan.per_viewer` false: no rule compares with the viewer, no
role is read): a selection such as `task { id title status creator { username } }`. Anything else
(a field whose answer depends on the viewer, a selection the compiler does not cover, a task
gone before the read, a failed statement) is read by the executor's reader, as before, per class
and per member singled out. Which path a group took is counted in
`gotong_graphql_read_path_total{path, reason}` with `path="subscription"`.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    get_operation_ast,
    parse,
)
from graphql.execution.values import get_variable_values

from gotong_gql import metrics
from gotong_gql.compiler import late
from gotong_gql.compiler.build import Builder, Unsupported
from gotong_gql.compiler.dialect import Dialect
from gotong_gql.compiler.plan import Plan as CompiledPlan
from gotong_gql.compiler.plan import compile_operation
from gotong_gql.compiler.templates import encode as global_id
from gotong_gql.graphql.multiplex.reader import ExecutorReader, Plan, Reading, ReadViewer
from gotong_gql.graphql.multiplex.reader import compact_json as encode
from gotong_gql.graphql.multiplex.scope import EventScope

log = logging.getLogger(__name__)

# The subscription fields whose events are TaskEvents with the task as a row.
TASK_EVENT_FIELDS = frozenset({"taskUpdated", "taskEvents"})
TASK_VARIABLE = "gqlEventTask"
# Label of the read-path metric for a group's reads (its reason says why not compiled).
PATH = "subscription"


@dataclass(frozen=True)
class CompiledEvent:
    """A group's compiled read: the plan, the parameters that carry the task's id, and the
    TaskEvent's fields in order: (response key, field name)."""

    plan: CompiledPlan
    task_parameters: tuple[str, ...]
    root_key: str
    fields: tuple[tuple[str, str], ...]
    fallback: Any  # the executor reader's prepared operation


class CompiledReader:
    """A `GroupReader`: compiled reads where they apply, the executor's reader elsewhere."""

    def __init__(self, schema: Any, services: Any, fallback: ExecutorReader | None = None) -> None:
        self.strawberry = schema
        self.schema = schema._schema
        self.services = services
        self.fallback = fallback or ExecutorReader(schema)

    def prepare(self, plan: Plan) -> Any:
        prepared = self.fallback.prepare(plan)
        try:
            compiled = self._compile(plan, prepared)
        except Unsupported as unsupported:
            metrics.READ_PATH.labels(PATH, unsupported.reason[:80]).inc()
            return prepared
        except Exception:
            log.warning("compiling a subscription failed", exc_info=True)
            metrics.READ_PATH.labels(PATH, "error").inc()
            return prepared
        metrics.READ_PATH.labels(PATH, "").inc()
        return compiled

    async def read(
        self, prepared: Any, viewer: ReadViewer, root: Any, scope: EventScope
    ) -> Reading:
        if not isinstance(prepared, CompiledEvent):
            return await self.fallback.read(prepared, viewer, root, scope)
        done = scope.memo.get(id(prepared))
        if done is None:
            done = await self._read(prepared, root)
            scope.memo[id(prepared)] = done
        if done is False:  # the compiled read did not answer this event
            return await self.fallback.read(prepared.fallback, viewer, root, scope)
        return Reading(done, frozenset())

    async def _read(self, prepared: CompiledEvent, root: Any) -> str | bool:
        """The event's payload text, or False for the executor to read it."""
        plan = prepared.plan
        task_id = root.task.row.id
        values = {name: plan.processed(name, task_id) for name in prepared.task_parameters}
        try:
            text, _, _ = await plan.run(self.services.engine, None, values)
            if plan.late:
                text = await late.resolve(text, self.services)
        except Exception:
            log.warning("a compiled subscription read failed", exc_info=True)
            return False
        metrics.SUBSCRIPTION_READS.labels("compiled").inc()
        tasks = json.loads(text)
        if any(value is None for value in tasks.values()):
            return False  # the task went away since the event's source read it
        event: dict[str, Any] = {}
        for key, name in prepared.fields:
            if name == "__typename":
                event[key] = "TaskEvent"
            elif name == "type":
                event[key] = self.schema.get_type("TaskEventType").serialize(root.type)
            elif name == "at":
                event[key] = self.schema.get_type("DateTime").serialize(root.at)
            else:
                event[key] = tasks[key]
        return encode({"data": {prepared.root_key: event}})

    def _compile(self, plan: Plan, fallback: Any) -> CompiledEvent:
        document = parse(plan.query)
        operation = get_operation_ast(document, plan.operation_name)
        if operation is None or operation.operation != OperationType.SUBSCRIPTION:
            raise Unsupported("not a subscription")
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        variables = get_variable_values(
            self.schema, operation.variable_definitions or (), dict(plan.variables)
        )
        if isinstance(variables, list):
            raise Unsupported("invalid variables")
        builder = Builder(
            dialect=Dialect(self.services.engine.dialect.name),
            schema=self.schema,
            fragments=fragments,
            variables=variables,
            settings=self.services.settings,
            signed_in=True,
            strawberry=self.strawberry,
        )
        subscription = self.schema.subscription_type
        assert subscription is not None
        roots = builder.root(subscription, operation.selection_set)
        if len(roots) != 1 or roots[0].nodes[0].name.value not in TASK_EVENT_FIELDS:
            raise Unsupported("subscription field")
        (selected,) = roots
        event_type = self.schema.get_type("TaskEvent")
        fields: list[tuple[str, str]] = []
        tasks: list[FieldNode] = []
        for part in builder.selections(event_type, selected.nodes):  # type: ignore[arg-type]
            name = part.nodes[0].name.value
            fields.append((part.name, name))
            if name == "task":
                tasks.append(_task_field(part.name, part.nodes))
        if not tasks:
            raise Unsupported("no task selected")
        sentinel = uuid.uuid4()
        query = _task_query(operation, tasks)
        query_variables = get_variable_values(
            self.schema,
            query.variable_definitions,
            {**plan.variables, TASK_VARIABLE: global_id("Task", sentinel)},
        )
        if isinstance(query_variables, list):
            raise Unsupported("invalid variables")
        compiled = compile_operation(
            strawberry_schema=self.strawberry,
            operation=query,
            fragments=fragments,
            variables=query_variables,
            engine=self.services.engine,
            settings=self.services.settings,
            signed_in=True,
        )
        if compiled.per_viewer:
            raise Unsupported("depends on the viewer")
        carriers = tuple(
            name
            for name, value in compiled.values.items()
            if value == compiled.processed(name, sentinel)
        )
        if not carriers:
            raise Unsupported("task id not a parameter")
        return CompiledEvent(compiled, carriers, selected.name, tuple(fields), fallback)


def _task_field(key: str, nodes: list[FieldNode]) -> FieldNode:
    """`<key>: task(id: $gqlEventTask) { <the merged selections of nodes> }`."""
    selections = [s for node in nodes if node.selection_set for s in node.selection_set.selections]
    return FieldNode(
        alias=NameNode(value=key),
        name=NameNode(value="task"),
        arguments=(
            ArgumentNode(
                name=NameNode(value="id"), value=VariableNode(name=NameNode(value=TASK_VARIABLE))
            ),
        ),
        directives=(),
        selection_set=SelectionSetNode(selections=tuple(selections)),
    )


def _task_query(
    operation: OperationDefinitionNode, tasks: list[FieldNode]
) -> OperationDefinitionNode:
    definition = VariableDefinitionNode(
        variable=VariableNode(name=NameNode(value=TASK_VARIABLE)),
        type=NonNullTypeNode(type=NamedTypeNode(name=NameNode(value="ID"))),
        directives=(),
    )
    return OperationDefinitionNode(
        operation=OperationType.QUERY,
        name=None,
        variable_definitions=(*(operation.variable_definitions or ()), definition),
        directives=(),
        selection_set=SelectionSetNode(selections=tuple(tasks)),
    )


__all__ = ["CompiledReader"]
