from __future__ import annotations

from typing import Annotated

import strawberry

from gotong_gql.contribution import service, verification
from gotong_gql.contribution.models import Contribution, Verification
from gotong_gql.contribution.types import (
    ContributionCreateInput,
    ContributionCreatePayload,
    ContributionFilterInput,
    ContributionType,
    ContributionVerifyInput,
    ContributionVerifyPayload,
    VerificationType,
)
from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import Input, query_error
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.inputs import input_data
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
from gotong_gql.uow import UnitOfWork

Info = strawberry.Info[Context, None]


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
        https_only = info.context.services.settings.is_production

        async def work(uow: UnitOfWork, viewer: Viewer) -> Contribution:
            return await service.create_contribution(
                uow, viewer.user, input_data(input), https_only=https_only
            )

        return await run_mutation(
            info,
            ContributionCreatePayload,
            work,
            lambda contribution: ContributionCreatePayload(
                contribution=ContributionType.from_row(contribution), errors=[]
            ),
        )


@strawberry.type
class VerificationMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Verifiers only: approve or reject someone else's contribution.",
    )
    async def contribution_verify(
        self, info: Info, input: Input[ContributionVerifyInput]
    ) -> ContributionVerifyPayload:
        context = info.context
        raw = {
            "outcome": input.outcome.value,
            "evidence_quality_score": input.evidence_quality_score,
            "notes": input.notes,
        }

        async def work(uow: UnitOfWork, viewer: Viewer) -> tuple[Contribution, Verification]:
            return await verification.verify_contribution(
                uow,
                context.services,
                viewer.roles,
                parse_global_id(input.contribution_id, "Contribution", "contributionId"),
                raw,
            )

        def done(verified: tuple[Contribution, Verification]) -> ContributionVerifyPayload:
            context.loaders.verifications_by_contribution_id.clear_all()
            return ContributionVerifyPayload(
                contribution=ContributionType.from_row(verified[0]),
                verification=VerificationType.from_row(verified[1]),
                errors=[],
            )

        return await run_mutation(info, ContributionVerifyPayload, work, done)
