from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import Input, query_error
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.inputs import input_data
from gotong_gql.graphql.multiplex.feed import Feed, Source, join
from gotong_gql.graphql.mutations import run_mutation
from gotong_gql.graphql.pagination import (
    After,
    Before,
    Connection,
    Filter,
    First,
    Last,
    PageArgs,
    paginate,
)
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.keyset import QuerySource
from gotong_gql.pubsub import Message
from gotong_gql.skill.service import normalise_skill_names
from gotong_gql.task import lifecycle, queries, service
from gotong_gql.task.inputs import (
    TaskAssignInput,
    TaskCancelInput,
    TaskCreateInput,
    TaskFilterInput,
    TaskIdInput,
    TaskOrderField,
    TaskOrderInput,
    TaskPayload,
    TaskUpdateInput,
)
from gotong_gql.task.models import Task
from gotong_gql.task.types import TaskEvent, TaskEventType, TaskStatus, TaskType
from gotong_gql.uow import UnitOfWork

Info = strawberry.Info[Context, None]
TASK_ROW = "_task_row"  # a process-local key, never published
P = TypeVar("P", bound=TaskPayload)
TaskId = Annotated[strawberry.ID, strawberry.argument(description="The task's id.")]


@strawberry.type(description="The result of `taskCreate`.")
class TaskCreatePayload(TaskPayload):
    pass


@strawberry.type(description="The result of `taskUpdate`.")
class TaskUpdatePayload(TaskPayload):
    pass


@strawberry.type(description="The result of `taskAssign`.")
class TaskAssignPayload(TaskPayload):
    pass


@strawberry.type(description="The result of `taskClaim`.")
class TaskClaimPayload(TaskPayload):
    pass


@strawberry.type(description="The result of `taskStart`.")
class TaskStartPayload(TaskPayload):
    pass


@strawberry.type(description="The result of `taskCancel`.")
class TaskCancelPayload(TaskPayload):
    pass


async def _mutate(
    info: Info, payload: type[P], work: Callable[[UnitOfWork, Viewer], Awaitable[Task]]
) -> P:
    return await run_mutation(
        info, payload, work, lambda task: payload(task=TaskType.from_row(task), errors=[])
    )


def _task_id(value: strawberry.ID, field: str = "taskId") -> uuid.UUID:
    return parse_global_id(value, "Task", field)


def _filter(value: TaskFilterInput | None) -> queries.TaskFilter:
    if value is None:
        return queries.TaskFilter()
    near = None
    if value.near is not None:
        if not value.near.radius_km > 0:
            raise DomainError("INVALID_INPUT", "radiusKm must be positive", "filter.near.radiusKm")
        near = queries.Near(value.near.latitude, value.near.longitude, value.near.radius_km)
    return queries.TaskFilter(
        statuses=[status.value for status in value.status] if value.status else None,
        skills=value.skills,
        creator_id=parse_global_id(value.creator_id, "User", "filter.creatorId")
        if value.creator_id
        else None,
        assignee_id=parse_global_id(value.assignee_id, "User", "filter.assigneeId")
        if value.assignee_id
        else None,
        near=near,
        search=value.search,
    )


@strawberry.type
class TaskQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated], description="A task; null when there is no such task."
    )
    async def task(self, info: Info, id: TaskId) -> TaskType | None:
        try:
            task_id = _task_id(id, "id")
        except DomainError:
            return None
        task = await info.context.loaders.tasks_by_id.load(task_id)
        if task is None:
            return None
        await TaskType.prefetch(info, [task], path=())
        return TaskType.from_row(task)

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Tasks of every status, newest first unless `orderBy` says otherwise.",
    )
    async def tasks(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[TaskFilterInput] = None,
        order_by: Annotated[
            TaskOrderInput | None,
            strawberry.argument(description="The order; CREATED_AT DESC when null."),
        ] = None,
    ) -> Connection[TaskType]:
        order = order_by or TaskOrderInput()
        try:
            listing = queries.task_listing(
                _filter(filter),
                queries.TaskOrder(
                    field=order.field.value, descending=order.direction.value == "desc"
                ),
            )
        except DomainError as exc:
            raise query_error(exc) from None
        connection = await paginate(
            QuerySource(listing, info.context.db),
            PageArgs(first, after, last, before),
            TaskType.from_row,
        )
        await TaskType.prefetch(info, [edge.node.row for edge in connection.edges])
        return connection


@strawberry.type
class TaskMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Organizers only: post a new OPEN task."
    )
    async def task_create(self, info: Info, input: Input[TaskCreateInput]) -> TaskCreatePayload:
        return await _mutate(
            info,
            TaskCreatePayload,
            lambda uow, viewer: service.create_task(uow, viewer.roles, input_data(input)),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The creator (or an admin) changes a task that is not finished.",
    )
    async def task_update(self, info: Info, input: Input[TaskUpdateInput]) -> TaskUpdatePayload:
        async def work(uow: UnitOfWork, viewer: Viewer) -> Task:
            return await service.update_task(
                uow, viewer.roles, _task_id(input.task_id), input_data(input, exclude=("task_id",))
            )

        return await _mutate(info, TaskUpdatePayload, work)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The creator (or an admin) assigns an OPEN task or reassigns an ASSIGNED one.",
    )
    async def task_assign(self, info: Info, input: Input[TaskAssignInput]) -> TaskAssignPayload:
        async def work(uow: UnitOfWork, viewer: Viewer) -> Task:
            return await lifecycle.assign_task(
                uow,
                viewer.roles,
                _task_id(input.task_id),
                parse_global_id(input.assignee_id, "User", "assigneeId"),
            )

        return await _mutate(info, TaskAssignPayload, work)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Any user takes an OPEN task for themselves.",
    )
    async def task_claim(self, info: Info, input: Input[TaskIdInput]) -> TaskClaimPayload:
        return await _mutate(
            info,
            TaskClaimPayload,
            lambda uow, viewer: lifecycle.claim_task(uow, _task_id(input.task_id)),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="The assignee starts an ASSIGNED task."
    )
    async def task_start(self, info: Info, input: Input[TaskIdInput]) -> TaskStartPayload:
        return await _mutate(
            info,
            TaskStartPayload,
            lambda uow, viewer: lifecycle.start_task(uow, _task_id(input.task_id)),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The creator (or an admin) calls off an unfinished task; final.",
    )
    async def task_cancel(self, info: Info, input: Input[TaskCancelInput]) -> TaskCancelPayload:
        return await _mutate(
            info,
            TaskCancelPayload,
            lambda uow, viewer: lifecycle.cancel_task(
                uow, viewer.roles, _task_id(input.task_id), input.reason
            ),
        )


@strawberry.input(description="Which task events to receive; the fields given must all match.")
class TaskEventFilterInput:
    status: list[TaskStatus] | None = strawberry.field(
        default=None, description="Tasks that are, after the change, in any of these statuses."
    )
    skills: list[str] | None = strawberry.field(
        default=None, description="Tasks with any of these skills (names)."
    )
    assigned_to_me: bool = strawberry.field(
        default=False, description="Only tasks assigned to the viewer."
    )
    created_by_me: bool = strawberry.field(
        default=False, description="Only tasks the viewer created."
    )


def _task_feed(
    channel: str,
    accept: Callable[[AsyncSession, Task], Awaitable[bool]] | None = None,
    key: uuid.UUID | None = None,
) -> Feed:
    async def source(session: AsyncSession, message: Message) -> Source | None:
        task = await _task_of(session, message)
        if task is None or (accept is not None and not await accept(session, task)):
            return None
        return Source(
            TaskEvent(
                type=TaskEventType(message["type"]),
                task=TaskType.from_row(task),
                at=datetime.fromisoformat(message["at"]),
            )
        )

    return Feed((channel,), source, key)


async def _task_of(session: AsyncSession, message: Message) -> Task | None:
    """The task of an event, read once per process: every subscriber of this process receives
    the same message object, and the first to need the row keeps it there for the others."""
    if TASK_ROW not in message:
        message[TASK_ROW] = await session.get(Task, uuid.UUID(message["task_id"]))
    return message[TASK_ROW]


@strawberry.type
class TaskSubscriptions:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated], description="Every change to one task."
    )
    async def task_updated(self, info: Info, task_id: TaskId) -> AsyncGenerator[TaskEvent, None]:
        try:
            channel = f"task:{_task_id(task_id)}"
        except DomainError as exc:
            raise query_error(exc) from None
        feed = _task_feed(channel)
        if await join(info, feed):
            return  # multiplexed (graphql/multiplex/): the group sends the events
        async for event in feed.events(info.context):
            yield event

    @strawberry.subscription(
        permission_classes=[IsAuthenticated], description="Every change to any task that matches."
    )
    async def task_events(
        self,
        info: Info,
        filter: Annotated[
            TaskEventFilterInput | None,
            strawberry.argument(description="Which changes to send; every task's when null."),
        ] = None,
    ) -> AsyncGenerator[TaskEvent, None]:
        wanted = filter or TaskEventFilterInput()
        statuses = {status.value for status in wanted.status or ()}
        try:
            skills = set(normalise_skill_names(wanted.skills or [], "filter.skills"))
        except DomainError as exc:
            raise query_error(exc) from None
        user_id = info.context.require_user_id()

        async def accept(session: AsyncSession, task: Task) -> bool:
            if statuses and task.status not in statuses:
                return False
            if wanted.assigned_to_me and task.assignee_id != user_id:
                return False
            if wanted.created_by_me and task.creator_id != user_id:
                return False
            if skills:
                return bool(skills & set(await service.skill_names(session, task.id)))
            return True

        # A filter on the viewer's own tasks makes the events the viewer's: a group per viewer.
        mine = bool(wanted.assigned_to_me or wanted.created_by_me)
        feed = _task_feed("tasks", accept, user_id if mine else None)
        if await join(info, feed):
            return
        async for event in feed.events(info.context):
            yield event


__all__ = ["TaskMutations", "TaskOrderField", "TaskQueries", "TaskSubscriptions"]
