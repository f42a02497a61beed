from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from gotong_gql import policy
from gotong_gql.credit import accounts, codes
from gotong_gql.credit.models import CreditAccount, CreditPosting, CreditTransaction
from gotong_gql.graphql.context import Actor, Context
from gotong_gql.graphql.errors import UserError, error_code_enum
from gotong_gql.graphql.loaders import now_or_later
from gotong_gql.graphql.nodes import load_nodes
from gotong_gql.user.types import UserType

if TYPE_CHECKING:
    from gotong_gql.contribution.types import ContributionType

Info = strawberry.Info[Context, None]
ContributionRef = Annotated["ContributionType", strawberry.lazy("gotong_gql.contribution.types")]


def may_see(actor: Actor | None, account: CreditAccount) -> bool:
    """An account is its owner's and the admins' to read (SPEC 9): the rule the compiled reads
    use too (policy.SEES_CREDIT_ACCOUNT)."""
    return actor is not None and policy.SEES_CREDIT_ACCOUNT.allows(account, actor.id, actor.roles)


@strawberry.type(
    name="CreditAccount",
    description="Time credit, in whole minutes (SPEC 9): one account per user and one for the "
    "community. Visible to its owner and to admins only.",
)
class CreditAccountType(relay.Node):
    id: relay.NodeID[str]
    balance_minutes: int = strawberry.field(
        description="Minutes earned and received less minutes paid and given; may be negative "
        "down to the limit. All balances together sum to zero."
    )
    reserved_minutes: int = strawberry.field(
        description="Minutes held for tasks this account pays for that are assigned and not "
        "yet settled."
    )
    limit_minutes: int | None = strawberry.field(
        description="The lowest `balanceMinutes - reservedMinutes` allowed (-1200 unless an "
        "admin set another); null for the community account, which has no limit."
    )
    available_minutes: int | None = strawberry.field(
        description="`balanceMinutes - reservedMinutes - limitMinutes`: what the account may "
        "still give or reserve; never negative. Null without a limit."
    )
    updated_at: datetime = strawberry.field(description="When the account last changed.")
    row: strawberry.Private[CreditAccount]

    @classmethod
    def from_row(cls, row: CreditAccount) -> CreditAccountType:
        return cls(
            id=str(row.id),
            balance_minutes=row.balance_minutes,
            reserved_minutes=row.reserved_minutes,
            limit_minutes=row.limit_minutes,
            available_minutes=accounts.available(row),
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        actor = await info.context.actor()
        rows = await load_nodes(info, CreditAccount, node_ids, lambda row: row)
        return [cls.from_row(row) if row and may_see(actor, row) else None for row in rows]

    @strawberry.field(description="The user whose account this is; null for the community's.")
    def owner(self, info: Info) -> UserType | None:
        if self.row.user_id is None:
            return None
        return now_or_later(info.context.loaders.users_by_id.load(self.row.user_id), _user_type)

    @strawberry.field(description="Whether this is the community account.")
    def community(self) -> bool:
        return self.row.kind == "community"


def _user_type(row: Any) -> UserType | None:
    return UserType.from_row(row) if row else None


@strawberry.enum(description="What a credit transaction was for.")
class CreditTransactionKind(Enum):
    TASK_PAYMENT = strawberry.enum_value(
        "task_payment", description="A task's payer paid its assignee for approved work."
    )
    TRANSFER = strawberry.enum_value(
        "transfer", description="A member gave credit to another (`creditTransfer`)."
    )
    ADJUSTMENT = strawberry.enum_value(
        "adjustment", description="A correction; none is made through the API yet."
    )


@strawberry.type(
    description="One posting of an account: the minutes one transaction moved on it, with the "
    "transaction's kind, memo and time."
)
class CreditEntry:
    amount_minutes: int = strawberry.field(
        description="Minutes credited (positive) or debited (negative) to the account."
    )
    kind: CreditTransactionKind = strawberry.field(description="What the transaction was for.")
    memo: str | None = strawberry.field(
        description="The sender's note of a transfer; the task's title for a task payment."
    )
    at: datetime = strawberry.field(description="When the transaction was made.")
    posting: strawberry.Private[CreditPosting]
    transaction: strawberry.Private[CreditTransaction]

    @classmethod
    def from_row(cls, pair: tuple[CreditPosting, CreditTransaction]) -> CreditEntry:
        posting, transaction = pair
        return cls(
            amount_minutes=posting.amount_minutes,
            kind=CreditTransactionKind(transaction.kind),
            memo=transaction.memo,
            at=transaction.at,
            posting=posting,
            transaction=transaction,
        )

    async def _other_account(self, info: Info) -> CreditAccount | None:
        loaders = info.context.loaders
        postings = await loaders.credit_postings_by_transaction_id.load(self.transaction.id)
        others = [p for p in postings if p.account_id != self.posting.account_id]
        if len(others) != 1:
            return None
        return await loaders.credit_accounts_by_id.load(others[0].account_id)

    @strawberry.field(
        description="The user on the other side of a transaction between two accounts; null "
        "when the other side is the community account."
    )
    async def counterparty(self, info: Info) -> UserType | None:
        other = await self._other_account(info)
        if other is None or other.user_id is None:
            return None
        user: Any = await info.context.loaders.users_by_id.load(other.user_id)
        return UserType.from_row(user) if user else None

    @strawberry.field(
        description="Whether the other side of the transaction is the community account (a "
        "task the community paid for)."
    )
    async def counterparty_is_community(self, info: Info) -> bool:
        other = await self._other_account(info)
        return other is not None and other.kind == "community"

    @strawberry.field(description="The contribution a task payment paid for; null otherwise.")
    async def contribution(self, info: Info) -> ContributionRef | None:
        from gotong_gql.contribution.types import ContributionType

        kind, _, reference = self.transaction.reference.partition(":")
        if kind != "contribution":
            return None
        row = await info.context.loaders.contributions_by_id.load(uuid.UUID(reference))
        return ContributionType.from_row(row) if row else None


CreditErrorCode = error_code_enum(codes.CreditErrorCode, "Why a credit mutation was refused.")


@strawberry.type(description="Why a credit mutation was refused; nothing was written.")
class CreditError(UserError):
    code: CreditErrorCode = strawberry.field(description="The reason, for programs.")


@strawberry.input(description="Give time credit to another member.")
class CreditTransferInput:
    to_user_id: strawberry.ID = strawberry.field(description="The recipient (a User id).")
    minutes: int = strawberry.field(description="1 to 6000, within the sender's available credit.")
    memo: str | None = strawberry.field(
        default=None, description="A note for both sides, at most 500 characters."
    )


@strawberry.type(description="The result of `creditTransfer`.")
class CreditTransferPayload:
    account: CreditAccountType | None = strawberry.field(
        description="The sender's account after the transfer; null when refused."
    )
    errors: list[CreditError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="Change a user's credit limit (admins).")
class CreditLimitSetInput:
    user_id: strawberry.ID = strawberry.field(description="Whose account (a User id).")
    limit_minutes: int = strawberry.field(
        description="The new lowest balance less reserved minutes, -600000 to 0; not above "
        "what the account holds now."
    )


@strawberry.type(description="The result of `creditLimitSet`.")
class CreditLimitSetPayload:
    account: CreditAccountType | None = strawberry.field(
        description="The account with its new limit; null when refused."
    )
    errors: list[CreditError] = strawberry.field(description="Empty on success.")
