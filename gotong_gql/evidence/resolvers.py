from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.errors import DomainError
from gotong_gql.evidence import service
from gotong_gql.evidence.models import Evidence
from gotong_gql.evidence.types import (
    EvidenceEvent,
    EvidenceStatus,
    EvidenceSubmitInput,
    EvidenceSubmitPayload,
    EvidenceType,
    EvidenceUploadConfirmInput,
    EvidenceUploadConfirmPayload,
    EvidenceUploadRequestInput,
    EvidenceUploadRequestPayload,
    HttpHeader,
    PresignedUploadType,
    visible_evidence,
)
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import ApiError, Input, query_error
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.inputs import input_data
from gotong_gql.graphql.multiplex.feed import Feed, Source, join
from gotong_gql.graphql.mutations import run_mutation
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.pubsub import Message
from gotong_gql.uow import UnitOfWork

Info = strawberry.Info[Context, None]


def _raw(input: Any) -> dict[str, Any]:
    raw = input_data(input)
    raw["contribution_id"] = parse_global_id(
        input.contribution_id, "Contribution", "contributionId"
    )
    return raw


@strawberry.type
class EvidenceQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A piece of evidence; null when absent or not visible to the viewer.",
    )
    async def evidence(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The evidence's id.")],
    ) -> EvidenceType | None:
        try:
            evidence_id = parse_global_id(id, "Evidence", "id")
        except DomainError:
            return None
        return await visible_evidence(info.context, str(evidence_id))


@strawberry.type
class EvidenceMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A presigned upload (PUT, 5 minutes) for a photo or GPS log.",
    )
    async def evidence_upload_request(
        self, info: Info, input: Input[EvidenceUploadRequestInput]
    ) -> EvidenceUploadRequestPayload:
        services = info.context.services

        async def work(uow: UnitOfWork, viewer: Viewer) -> service.UploadRequested:
            return await service.request_upload(uow, services, _raw(input))

        def done(requested: service.UploadRequested) -> EvidenceUploadRequestPayload:
            upload = requested.upload
            return EvidenceUploadRequestPayload(
                evidence=EvidenceType.from_row(requested.evidence),
                upload=PresignedUploadType(
                    url=upload.url,
                    method=upload.method,
                    headers=[
                        HttpHeader(name=name, value=value) for name, value in upload.headers.items()
                    ],
                    expires_at=upload.expires_at,
                ),
                errors=[],
            )

        return await run_mutation(info, EvidenceUploadRequestPayload, work, done)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The file is uploaded: hash it and read its EXIF.",
    )
    async def evidence_upload_confirm(
        self, info: Info, input: Input[EvidenceUploadConfirmInput]
    ) -> EvidenceUploadConfirmPayload:
        services = info.context.services

        async def work(uow: UnitOfWork, viewer: Viewer) -> Evidence:
            evidence_id = parse_global_id(input.evidence_id, "Evidence", "evidenceId")
            return await service.confirm_upload(uow, services, evidence_id)

        return await run_mutation(
            info,
            EvidenceUploadConfirmPayload,
            work,
            lambda evidence: EvidenceUploadConfirmPayload(
                evidence=EvidenceType.from_row(evidence), errors=[]
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A GPS fix or a witness attestation (no file).",
    )
    async def evidence_submit(
        self, info: Info, input: Input[EvidenceSubmitInput]
    ) -> EvidenceSubmitPayload:
        services = info.context.services

        async def work(uow: UnitOfWork, viewer: Viewer) -> Evidence:
            return await service.submit_evidence(uow, services, _raw(input))

        return await run_mutation(
            info,
            EvidenceSubmitPayload,
            work,
            lambda evidence: EvidenceSubmitPayload(
                evidence=EvidenceType.from_row(evidence), errors=[]
            ),
        )


@strawberry.type
class EvidenceSubscriptions:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Each status change of a contribution's evidence, for those who may see it "
        "(FORBIDDEN for others; a role lost meanwhile ends the events).",
    )
    async def evidence_updated(
        self,
        info: Info,
        contribution_id: Annotated[
            strawberry.ID, strawberry.argument(description="The contribution whose evidence.")
        ],
    ) -> AsyncGenerator[EvidenceEvent, None]:
        context = info.context
        try:
            target = parse_global_id(contribution_id, "Contribution", "contributionId")
        except DomainError as exc:
            raise query_error(exc) from None
        viewer = await context.require_viewer()
        async with context.db() as session:
            allowed = await service.visible_contribution(session, viewer.id, viewer.roles, target)
        if allowed is None:
            raise ApiError("FORBIDDEN", "this contribution's evidence is not visible to you")

        async def source(session: AsyncSession, message: Message) -> Source | None:
            row = await session.get(Evidence, uuid.UUID(message["evidence_id"]))
            found = await service.contribution_with_creator(session, target)
            if row is None or found is None:
                return None
            contribution, creator_id = found
            event = EvidenceEvent(
                evidence=EvidenceType.from_row(row),
                status=EvidenceStatus(message["status"]),
                at=datetime.fromisoformat(message["at"]),
            )

            # Visibility is checked on every event, with the roles read again for it: a role
            # revoked meanwhile ends the updates.
            def admits(viewer_id: uuid.UUID, roles: frozenset[str]) -> bool:
                return service.may_see(viewer_id, roles, contribution, creator_id)

            return Source(event, admits)

        feed = Feed((f"evidence:{target}",), source)
        if await join(info, feed):
            return  # multiplexed (graphql/multiplex/): the group sends the events
        async for event in feed.events(context):
            yield event
