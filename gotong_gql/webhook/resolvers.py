from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.permission import BasePermission

from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import ERRORS, ApiError, Input
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
from gotong_gql.webhook import service
from gotong_gql.webhook.models import WebhookEvent
from gotong_gql.webhook.types import (
    WebhookError,
    WebhookErrorCode,
    WebhookEventFilterInput,
    WebhookEventType_,
    WebhookFailureType,
)

Info = strawberry.Info[Context, None]


class IsAdmin(BasePermission):
    message = "admins only"

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        viewer = await info.context.require_viewer()
        if not viewer.is_admin:
            raise ApiError("FORBIDDEN", "admins only")
        return True


@strawberry.input(description="The dead letter to send again.")
class WebhookEventReplayInput:
    event_id: str = strawberry.field(description="The event's `eventId` (`evt_...`).")


@strawberry.type(description="The result of `webhookEventReplay`.")
class WebhookEventReplayPayload:
    event: WebhookEventType_ | None = strawberry.field(
        description="The event, PENDING again with its attempts reset; null when refused."
    )
    errors: list[WebhookError] = strawberry.field(description=ERRORS)


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated, IsAdmin],
        description="The outbox, newest first; admins only.",
    )
    async def webhook_events(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[WebhookEventFilterInput] = None,
    ) -> Connection[WebhookEventType_]:
        wanted = filter or WebhookEventFilterInput()
        listing = service.event_listing(
            status=wanted.status.value if wanted.status else None,
            event_type=wanted.event_type.value if wanted.event_type else None,
        )
        return await paginate(
            QuerySource(listing, info.context.db),
            PageArgs(first, after, last, before),
            WebhookEventType_.from_row,
        )

    @strawberry.field(
        permission_classes=[IsAuthenticated, IsAdmin],
        description="Dead letters, newest first; admins only.",
    )
    async def webhook_failures(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        include_replayed: Annotated[
            bool, strawberry.argument(description="Also the dead letters already sent again.")
        ] = False,
    ) -> Connection[WebhookFailureType]:
        return await paginate(
            QuerySource(service.failure_listing(include_replayed), info.context.db),
            PageArgs(first, after, last, before),
            WebhookFailureType.from_row,
        )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins only: send a dead letter again (same event_id and bytes).",
    )
    async def webhook_event_replay(
        self, info: Info, input: Input[WebhookEventReplayInput]
    ) -> WebhookEventReplayPayload:

        async def work(uow: UnitOfWork, viewer: Viewer) -> WebhookEvent:
            if not viewer.is_admin:
                raise DomainError(WebhookErrorCode.FORBIDDEN, "only admins replay webhook events")
            return await service.replay(uow, input.event_id)

        return await run_mutation(
            info,
            WebhookEventReplayPayload,
            work,
            lambda event: WebhookEventReplayPayload(
                event=WebhookEventType_.from_row(event), errors=[]
            ),
        )
