"""CreditAccount and CreditEntry (SPEC 9): `User.creditAccount`, `creditCommunityAccount`,
`creditEntries` and `node` for CreditAccount.

Visibility and refusals, as the executor's (credit/types.py, credit/resolvers.py):
- an account is its owner's and the admins' (policy.SEES_CREDIT_ACCOUNT, the rule `may_see`
  applies): `User.creditAccount` and `node` are null for other viewers;
- `creditCommunityAccount` is FORBIDDEN to non-admins: a guard (build.py `Builder.require`), so
  the executor answers them, with its error;
- `creditEntries(accountId:)` is BAD_USER_INPUT for an id that is not a CreditAccount's (the
  plan refuses it: the executor answers) and FORBIDDEN for another user's account unless the
  viewer is an admin (a guard); without `accountId`, the entries of the viewer's own account
  (none without one).

An entry is a posting with its transaction (ledger.entry_listing, paged by ENTRY_ORDER); its
counterparty is the account of the transaction's one other posting (none when there are more).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Uuid, and_, case, cast, func, literal_column, null, or_, select
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from gotong_gql import policy
from gotong_gql.compiler.build import Builder, Selected, Unsupported
from gotong_gql.compiler.connection import connection
from gotong_gql.compiler.dialect import quote
from gotong_gql.compiler.mappings import people  # noqa: F401  (User first)
from gotong_gql.compiler.mappings.evidence import CONTRIBUTIONS
from gotong_gql.compiler.mappings.root import VISIBLE_NODES, one
from gotong_gql.compiler.mappings.tasks import USERS, user_by
from gotong_gql.compiler.registry import SPECS, register
from gotong_gql.compiler.specs import Column, Computed, Custom
from gotong_gql.credit import ledger
from gotong_gql.credit.models import (
    COMMUNITY_ACCOUNT_ID,
    CreditAccount,
    CreditPosting,
    CreditTransaction,
)
from gotong_gql.errors import DomainError
from gotong_gql.graphql.errors import ApiError
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.pagination import PageArgs, window
from gotong_gql.keyset import Listing

ACCOUNTS = CreditAccount.__table__
POSTINGS = CreditPosting.__table__
TRANSACTIONS = CreditTransaction.__table__
STAND_IN = uuid.UUID("6a7e0000-0000-4000-8000-0000000acc70")  # replaced in the SQL
CONTRIBUTION_REFERENCE = "contribution:"


def _sees(b: Builder, account: Any) -> Any:
    return policy.SEES_CREDIT_ACCOUNT.sql(account, b)


# CreditAccount --------------------------------------------------------------------------------


def _available(b: Builder, row: Any) -> Any:
    """accounts.available: null without a limit (NULL arithmetic says the same)."""
    return row.c.balance_minutes - row.c.reserved_minutes - row.c.limit_minutes


register(
    "CreditAccount",
    ACCOUNTS,
    availableMinutes=Computed(_available),
    owner=user_by("user_id"),
    community=Computed(lambda b, row: row.c.kind == "community"),
)


def _user_account(b: Builder, row: Any, selected: Selected) -> Any:
    account = ACCOUNTS.alias()
    query = (
        select(b.object("CreditAccount", account, selected.nodes))
        .where(account.c.user_id == row.c.id, _sees(b, account))
        .correlate(row)
        .limit(1)
    )
    return b.dialect.nested(query.scalar_subquery())


SPECS["User"]["creditAccount"] = Custom(_user_account)
VISIBLE_NODES["CreditAccount"] = _sees


def _community(b: Builder, args: dict[str, Any], target: Any) -> Any:
    b.require(policy.ADMIN.sql(target, b))
    return target.c.id == COMMUNITY_ACCOUNT_ID


# CreditEntry ----------------------------------------------------------------------------------


def _others(row: Any) -> tuple[Any, Any]:
    """The other postings of the entry's transaction: (the alias, the condition)."""
    posting = POSTINGS.alias()
    same = and_(
        posting.c.transaction_id == row.c.transaction_id,
        posting.c.account_id != row.c.account_id,
    )
    return posting, same


def _one_other(row: Any) -> Any:
    posting, same = _others(row)
    count = select(func.count()).select_from(posting).where(same).correlate(row)
    return count.scalar_subquery() == 1


def _counterparty(b: Builder, row: Any, selected: Selected) -> Any:
    posting, same = _others(row)
    account = ACCOUNTS.alias()
    user = USERS.alias()
    query = (
        select(b.object("User", user, selected.nodes))
        .select_from(
            posting.join(account, account.c.id == posting.c.account_id).join(
                user, user.c.id == account.c.user_id
            )
        )
        .where(same, _one_other(row))
        .correlate(row)
        .limit(1)
    )
    return b.dialect.nested(query.scalar_subquery())


def _counterparty_is_community(b: Builder, row: Any) -> Any:
    posting, same = _others(row)
    account = ACCOUNTS.alias()
    community = (
        select(literal_column("1"))
        .select_from(posting.join(account, account.c.id == posting.c.account_id))
        .where(same, account.c.kind == "community")
        .correlate(row)
        .exists()
    )
    return and_(_one_other(row), community)


def _contribution(b: Builder, row: Any, selected: Selected) -> Any:
    """The contribution a task payment names in its reference (`contribution:<uuid>`)."""
    reference = row.c.reference
    named = func.substr(reference, len(CONTRIBUTION_REFERENCE) + 1)
    if b.dialect.pg:
        key: Any = cast(named, Uuid)
    else:  # SQLite keeps a uuid as its 32 hex digits
        key = func.lower(func.replace(named, literal_column("'-'"), literal_column("''")))
    prefix = func.substr(reference, 1, len(CONTRIBUTION_REFERENCE))
    key = case((prefix == quote(CONTRIBUTION_REFERENCE), key), else_=null())
    contribution = CONTRIBUTIONS.alias()
    query = (
        select(b.object("Contribution", contribution, selected.nodes))
        .where(contribution.c.id == key)
        .correlate(row)
        .limit(1)
    )
    return b.dialect.nested(query.scalar_subquery())


register(
    "CreditEntry",
    None,
    amountMinutes=Column("amount_minutes"),
    kind=Column("kind"),
    memo=Column("memo"),
    at=Column("at"),
    counterparty=Custom(_counterparty),
    counterpartyIsCommunity=Computed(_counterparty_is_community),
    contribution=Custom(_contribution),
)

ENTRY_COLUMNS = (
    POSTINGS.c.id.label("posting_id"),
    POSTINGS.c.account_id,
    POSTINGS.c.amount_minutes,
    TRANSACTIONS.c.id.label("transaction_id"),
    TRANSACTIONS.c.kind,
    TRANSACTIONS.c.memo,
    TRANSACTIONS.c.at,
    TRANSACTIONS.c.reference,
)


def _entries_account(b: Builder, account_id: str | None) -> Any:
    """The account whose entries the viewer asks for, as the resolver's `_entries_account`."""
    if account_id is None:
        own = select(ACCOUNTS.c.id).where(ACCOUNTS.c.user_id == b.viewer_id)
        return own.scalar_subquery()
    try:
        wanted = parse_global_id(account_id, "CreditAccount", "accountId")
    except DomainError:
        raise Unsupported("refused arguments") from None
    owned = (
        select(ACCOUNTS.c.id)
        .where(ACCOUNTS.c.id == wanted, ACCOUNTS.c.user_id == b.viewer_id)
        .exists()
    )
    b.require(or_(policy.ADMIN.sql(None, b), owned))
    return wanted


def _entries(b: Builder, row: Any, selected: Selected) -> Any:
    args = selected.args
    account = _entries_account(b, args.get("account_id"))
    listing = ledger.entry_listing(STAND_IN)
    try:
        wanted = window(
            listing.order,
            PageArgs(args.get("first"), args.get("after"), args.get("last"), args.get("before")),
            nested=False,
        )
    except (DomainError, ApiError) as exc:
        raise Unsupported("refused arguments") from exc

    if isinstance(account, uuid.UUID):
        query = ledger.entry_listing(account).query
    else:  # the viewer's own account, found by the statement

        def replace(element: Any) -> Any:
            if isinstance(element, BindParameter) and element.value == STAND_IN:
                return account
            return None

        query = visitors.replacement_traverse(listing.query, {}, replace)
    query = query.with_only_columns(*ENTRY_COLUMNS)
    return connection(b, Listing(query, listing.order), wanted, selected)


SPECS["Query"].update(
    creditCommunityAccount=one("CreditAccount", _community),
    creditEntries=Custom(_entries),
)
