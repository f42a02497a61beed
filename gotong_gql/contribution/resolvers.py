from __future__ import annotations

from typing import Annotated

import strawberry

from gotong_gql.contribution import service, verification
from gotong_gql.contribution.models import Contribution
from gotong_gql.contribution.types import (
    ContributionCreateInput,
    ContributionCreatePayload,
    ContributionError,
    ContributionErrorCode,
    ContributionFilterInput,
    ContributionType,
    ContributionVerifyInput,
    ContributionVerifyPayload,
    VerificationType,
)
from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import ERRORS, Input, payload_errors, query_error
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.inputs import input_data
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
from gotong_gql.task.types import TaskError, TaskErrorCode, TaskType

Info = strawberry.Info[Context, None]


@strawberry.input(description="The task the viewer finished, and the contribution to record.")
class TaskCompleteInput:
    task_id: strawberry.ID = strawberry.field(description="An IN_PROGRESS task of the viewer's.")
    title: str | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to the task's title."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 2,000 characters; empty when omitted."
    )
    evidence_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="A link to outside evidence of the work."
    )
    duration_hours: float | None = strawberry.field(
        default=strawberry.UNSET,
        description="Over 0, at most 168; defaults to the time since taskStart (at most 168).",
    )
    metadata: strawberry.scalars.JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Added to the contribution's metadata (the task's keys win); at most 50 keys.",
    )


@strawberry.type(description="The result of `taskComplete`.")
class TaskCompletePayload:
    task: TaskType | None = strawberry.field(description="The COMPLETED task; null when refused.")
    contribution: ContributionType | None = strawberry.field(
        description="The contribution the completion created; null when refused."
    )
    errors: list[TaskError] = strawberry.field(description=ERRORS)


def _filter(value: ContributionFilterInput | None) -> service.ContributionFilter:
    if value is None:
        return service.ContributionFilter()
    return service.ContributionFilter(
        user_id=parse_global_id(value.user_id, "User", "filter.userId") if value.user_id else None,
        task_id=parse_global_id(value.task_id, "Task", "filter.taskId") if value.task_id else None,
        verification_status=value.verification_status.value if value.verification_status else None,
        contribution_type=value.contribution_type.value if value.contribution_type else None,
    )


@strawberry.type
class ContributionQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A contribution; null when none has the id.",
    )
    async def contribution(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The contribution's id.")],
    ) -> ContributionType | None:
        try:
            contribution_id = parse_global_id(id, "Contribution", "id")
        except DomainError:
            return None
        async with info.context.db() as session:
            row = await session.get(Contribution, contribution_id)
        return ContributionType.from_row(row) if row else None

    @strawberry.field(
        permission_classes=[IsAuthenticated], description="Contributions, newest first."
    )
    async def contributions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[ContributionFilterInput] = None,
    ) -> Connection[ContributionType]:
        try:
            contribution_filter = _filter(filter)
        except DomainError as exc:
            raise query_error(exc) from None
        return await paginate(
            QuerySource(service.contribution_listing(contribution_filter), info.context.db),
            PageArgs(first, after, last, before),
            ContributionType.from_row,
        )


@strawberry.type
class ContributionMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Record standalone work of the viewer's (not a task's).",
    )
    async def contribution_create(
        self, info: Info, input: Input[ContributionCreateInput]
    ) -> ContributionCreatePayload:
        context = info.context
        viewer = await context.require_viewer()
        try:
            async with context.unit_of_work(viewer) as uow:
                contribution = await service.create_contribution(
                    uow,
                    viewer.user,
                    input_data(input),
                    https_only=context.services.settings.is_production,
                )
        except DomainError as exc:
            return ContributionCreatePayload(
                contribution=None,
                errors=payload_errors(ContributionError, ContributionErrorCode, exc),
            )
        return ContributionCreatePayload(
            contribution=ContributionType.from_row(contribution), errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The assignee completes an in-progress task; creates its contribution.",
    )
    async def task_complete(
        self, info: Info, input: Input[TaskCompleteInput]
    ) -> TaskCompletePayload:
        context = info.context
        viewer = await context.require_viewer()
        try:
            async with context.unit_of_work(viewer) as uow:
                done = await service.complete_task(
                    uow,
                    viewer.user,
                    parse_global_id(input.task_id, "Task", "taskId"),
                    input_data(input, exclude=("task_id",)),
                    https_only=context.services.settings.is_production,
                )
        except DomainError as exc:
            return TaskCompletePayload(
                task=None,
                contribution=None,
                errors=payload_errors(TaskError, TaskErrorCode, exc),
            )
        return TaskCompletePayload(
            task=TaskType.from_row(done.task),
            contribution=ContributionType.from_row(done.contribution),
            errors=[],
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Verifiers only: approve or reject someone else's contribution.",
    )
    async def contribution_verify(
        self, info: Info, input: Input[ContributionVerifyInput]
    ) -> ContributionVerifyPayload:
        context = info.context
        viewer = await context.require_viewer()
        raw = {
            "outcome": input.outcome.value,
            "evidence_quality_score": input.evidence_quality_score,
            "notes": input.notes,
        }
        try:
            async with context.unit_of_work(viewer) as uow:
                contribution, verified = await verification.verify_contribution(
                    uow,
                    context.services,
                    viewer.roles,
                    parse_global_id(input.contribution_id, "Contribution", "contributionId"),
                    raw,
                )
        except DomainError as exc:
            return ContributionVerifyPayload(
                contribution=None,
                verification=None,
                errors=payload_errors(ContributionError, ContributionErrorCode, exc),
            )
        context.loaders.verifications_by_contribution_id.clear_all()
        return ContributionVerifyPayload(
            contribution=ContributionType.from_row(contribution),
            verification=VerificationType.from_row(verified),
            errors=[],
        )
