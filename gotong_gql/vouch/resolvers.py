from __future__ import annotations

import strawberry
from strawberry import relay

from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import payload_errors, query_error
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.pagination import connection, page_window
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.vouch import service
from gotong_gql.vouch.types import (
    VouchCreateInput,
    VouchCreatePayload,
    VouchError,
    VouchErrorCode,
    VouchFilterInput,
    VouchType,
)

Info = strawberry.Info[Context, None]


async def vouch_connection(
    info: Info, vouch_filter: service.VouchFilter, first: int, after: str | None
) -> relay.Connection[VouchType]:
    limit, offset = page_window(first, after)
    async with info.context.db() as session:
        rows = await service.list_vouches(session, vouch_filter, limit=limit, offset=offset)
    return connection(
        rows, first, offset, lambda joined: VouchType.from_joined(info.context, *joined)
    )


@strawberry.type
class VouchQueries:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def vouches(
        self,
        info: Info,
        first: int,
        after: str | None = None,
        filter: VouchFilterInput | None = None,
    ) -> relay.Connection[VouchType]:
        wanted = filter or VouchFilterInput()
        try:
            vouch_filter = service.VouchFilter(
                voucher_id=parse_global_id(wanted.voucher_id, "User", "filter.voucherId")
                if wanted.voucher_id
                else None,
                vouchee_id=parse_global_id(wanted.vouchee_id, "User", "filter.voucheeId")
                if wanted.vouchee_id
                else None,
                skill=wanted.skill,
            )
            return await vouch_connection(info, vouch_filter, first, after)
        except DomainError as exc:
            raise query_error(exc) from None


@strawberry.type
class VouchMutations:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def vouch_create(self, info: Info, input: VouchCreateInput) -> VouchCreatePayload:
        context = info.context
        viewer = await context.require_viewer()
        raw = {
            "skill": input.skill,
            "weight_hint": input.weight_hint.value if input.weight_hint else None,
            "message": input.message,
        }
        reputation = await service.voucher_reputation(context.services, viewer.user)
        try:
            async with context.unit_of_work(viewer) as uow:
                vouch = await service.create_vouch(
                    uow,
                    context.services,
                    viewer.user,
                    parse_global_id(input.vouchee_id, "User", "voucheeId"),
                    raw,
                    reputation,
                )
        except DomainError as exc:
            return VouchCreatePayload(
                vouch=None, errors=payload_errors(VouchError, VouchErrorCode, exc)
            )
        return VouchCreatePayload(vouch=VouchType.from_row(vouch), errors=[])
