from __future__ import annotations

import strawberry

from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import Input, query_error
from gotong_gql.graphql.ids import parse_global_id
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
from gotong_gql.vouch import service
from gotong_gql.vouch.models import Vouch
from gotong_gql.vouch.types import (
    VouchCreateInput,
    VouchCreatePayload,
    VouchFilterInput,
    VouchType,
)

Info = strawberry.Info[Context, None]


async def vouch_connection(
    info: Info, vouch_filter: service.VouchFilter, pages: PageArgs, nested: bool
) -> Connection[VouchType]:
    return await paginate(
        QuerySource(service.vouch_listing(vouch_filter), info.context.db),
        pages,
        lambda joined: VouchType.from_joined(info.context, *joined),
        nested=nested,
    )


@strawberry.type
class VouchQueries:
    @strawberry.field(permission_classes=[IsAuthenticated], description="Vouches, newest first.")
    async def vouches(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[VouchFilterInput] = None,
    ) -> Connection[VouchType]:
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
            pages = PageArgs(first, after, last, before)
            return await vouch_connection(info, vouch_filter, pages, False)
        except DomainError as exc:
            raise query_error(exc) from None


@strawberry.type
class VouchMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Vouch for another user, generally or for one skill; sends `vouch_submitted` "
        "to the Markov Engine.",
    )
    async def vouch_create(self, info: Info, input: Input[VouchCreateInput]) -> VouchCreatePayload:
        context = info.context
        viewer = await context.require_viewer()
        raw = {
            "skill": input.skill,
            "weight_hint": input.weight_hint.value if input.weight_hint else None,
            "message": input.message,
        }
        # Read from Markov (or its cache) before the unit of work: no network inside it.
        reputation = await service.voucher_reputation(context.services, viewer.user)

        async def work(uow: UnitOfWork, viewer: Viewer) -> Vouch:
            vouchee_id = parse_global_id(input.vouchee_id, "User", "voucheeId")
            return await service.create_vouch(
                uow, context.services, viewer.user, vouchee_id, raw, reputation
            )

        return await run_mutation(
            info,
            VouchCreatePayload,
            work,
            lambda vouch: VouchCreatePayload(vouch=VouchType.from_row(vouch), errors=[]),
        )
