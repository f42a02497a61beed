"""taskComplete: its input, its payload (the task and the contribution it created) and the
mutation (task/completion.py does the work).

TaskCompletionMutations stays apart from TaskMutations so that the Mutation type keeps the order
of its fields, and `schema.graphql` its bytes, from when contribution/ served taskComplete
(wiring/schema.py merges it between contributionCreate and contributionVerify).
"""

from __future__ import annotations

import strawberry

from gotong_gql.contribution.types import ContributionType
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import ERRORS, Input
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.inputs import input_data
from gotong_gql.graphql.mutations import run_mutation
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.task import completion
from gotong_gql.task.inputs import TaskError
from gotong_gql.task.types import TaskType
from gotong_gql.uow import UnitOfWork

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


@strawberry.type
class TaskCompletionMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The assignee completes an in-progress task; creates its contribution.",
    )
    async def task_complete(
        self, info: Info, input: Input[TaskCompleteInput]
    ) -> TaskCompletePayload:
        https_only = info.context.services.settings.is_production

        async def work(uow: UnitOfWork, viewer: Viewer) -> completion.Completed:
            return await completion.complete_task(
                uow,
                viewer.user,
                parse_global_id(input.task_id, "Task", "taskId"),
                input_data(input, exclude=("task_id",)),
                https_only=https_only,
            )

        return await run_mutation(
            info,
            TaskCompletePayload,
            work,
            lambda done: TaskCompletePayload(
                task=TaskType.from_row(done.task),
                contribution=ContributionType.from_row(done.contribution),
                errors=[],
            ),
        )
