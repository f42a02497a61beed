"""The credit fields of Query, Mutation and Subscription (SPEC 9).

Decision: `creditEntries` of another user's account is FORBIDDEN (a top-level error) for a
non-admin, rather than an empty list, so that a client cannot mistake a refusal for an account
without movements; a global id that is not a CreditAccount's is BAD_USER_INPUT.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.credit import accounts, ledger
from gotong_gql.credit.models import COMMUNITY_ACCOUNT_ID, CreditAccount
from gotong_gql.credit.types import (
    CreditAccountType,
    CreditEntry,
    CreditLimitSetInput,
    CreditLimitSetPayload,
    CreditTransferInput,
    CreditTransferPayload,
)
from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import ApiError, bad_input
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.multiplex.feed import Feed, Source, join
from gotong_gql.graphql.mutations import run_mutation
from gotong_gql.graphql.pagination import (
    After,
    Before,
    Connection,
    First,
    Last,
    PageArgs,
    paginate,
)
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.keyset import QuerySource
from gotong_gql.pubsub import Message
from gotong_gql.uow import UnitOfWork

Info = strawberry.Info[Context, None]
AccountId = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="A CreditAccount id; the viewer's own account when omitted. Another "
        "user's account (or the community's) is for admins: FORBIDDEN for others."
    ),
]


async def _admin(info: Info) -> Viewer:
    viewer = await info.context.require_viewer()
    if not viewer.is_admin:
        raise ApiError("FORBIDDEN", "admins only")
    return viewer


async def _entries_account(info: Info, account_id: strawberry.ID | None) -> uuid.UUID | None:
    """The account whose entries the viewer asks for, if the viewer may read them."""
    context = info.context
    viewer = await context.require_viewer()
    if account_id is None:
        own = await context.loaders.credit_accounts_by_user_id.load(viewer.id)
        return own.id if own else None
    try:
        wanted = parse_global_id(account_id, "CreditAccount", "accountId")
    except DomainError:
        raise bad_input("accountId is not a CreditAccount id", "accountId") from None
    if not viewer.is_admin:
        account = await context.loaders.credit_accounts_by_id.load(wanted)
        if account is None or account.user_id != viewer.id:
            raise ApiError("FORBIDDEN", "an account's entries are its owner's and admins' only")
    return wanted


@strawberry.type
class CreditQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The community account, which pays for tasks whose payer is COMMUNITY; "
        "admins only.",
    )
    async def credit_community_account(self, info: Info) -> CreditAccountType | None:
        await _admin(info)
        row = await info.context.loaders.credit_accounts_by_id.load(COMMUNITY_ACCOUNT_ID)
        return CreditAccountType.from_row(row) if row else None

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The postings of an account, newest first.",
    )
    async def credit_entries(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        account_id: AccountId = None,
    ) -> Connection[CreditEntry]:
        account = await _entries_account(info, account_id)
        return await paginate(
            QuerySource(ledger.entry_listing(account), info.context.db),
            PageArgs(first, after, last, before),
            CreditEntry.from_row,
        )


@strawberry.type
class CreditMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Give time credit to another member (informal help): 1 to 6000 minutes, "
        "within the sender's available credit.",
    )
    async def credit_transfer(
        self,
        info: Info,
        input: Annotated[
            CreditTransferInput, strawberry.argument(description="Whom, how much, and why.")
        ],
    ) -> CreditTransferPayload:

        async def work(uow: UnitOfWork, viewer: Viewer) -> CreditAccount:
            recipient = parse_global_id(input.to_user_id, "User", "toUserId")
            return await ledger.transfer(uow, recipient, input.minutes, input.memo)

        return await run_mutation(
            info,
            CreditTransferPayload,
            work,
            lambda account: CreditTransferPayload(
                account=CreditAccountType.from_row(account), errors=[]
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins only: set a user's credit limit.",
    )
    async def credit_limit_set(
        self,
        info: Info,
        input: Annotated[
            CreditLimitSetInput, strawberry.argument(description="Whose account, and its limit.")
        ],
    ) -> CreditLimitSetPayload:

        async def work(uow: UnitOfWork, viewer: Viewer) -> CreditAccount:
            user_id = parse_global_id(input.user_id, "User", "userId")
            return await ledger.set_limit(uow, viewer.roles, user_id, input.limit_minutes)

        return await run_mutation(
            info,
            CreditLimitSetPayload,
            work,
            lambda account: CreditLimitSetPayload(
                account=CreditAccountType.from_row(account), errors=[]
            ),
        )


@strawberry.type
class CreditSubscriptions:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The viewer's own credit account, after every committed change to it.",
    )
    async def credit_account_updated(self, info: Info) -> AsyncGenerator[CreditAccountType, None]:
        context = info.context
        viewer_id = context.require_user_id()

        async def source(session: AsyncSession, message: Message) -> Source | None:
            row = await accounts.account_of_user(session, viewer_id)
            return Source(CreditAccountType.from_row(row)) if row is not None else None

        # The viewer is read again for every event (a deleted account ends it); the channel is
        # the viewer's, and so is the group (the feed's key).
        feed = Feed((f"credit:user:{viewer_id}",), source, key=viewer_id)
        if await join(info, feed):
            return
        async for account in feed.events(context):
            yield account
