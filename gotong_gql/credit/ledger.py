"""Credit transactions (SPEC 9): double-entry, append-only, chained by hashes; transfers,
limits, and the postings of an account as a list.

A transaction's postings sum to zero, each moves a whole number of minutes on one account (at
most one posting per account), and the accounts' balances change in the same unit of work. The
transaction is written at commit as a link of the `credit_transactions` chain
(audit/chain.py), its postings right after it: nothing here updates or deletes a ledger row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import false, select

from gotong_gql.audit.chain import CREDIT_CHAIN, Link
from gotong_gql.audit.service import record
from gotong_gql.credit import accounts
from gotong_gql.credit.codes import CreditErrorCode
from gotong_gql.credit.models import CreditAccount, CreditPosting, CreditTransaction
from gotong_gql.errors import DomainError, forbidden, not_found
from gotong_gql.keyset import Key, Listing, Order
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.models import User

MAX_TRANSFER_MINUTES = 6000  # 100 hours
MAX_MEMO_LENGTH = 500
LOWEST_LIMIT_MINUTES = -600_000  # 10,000 hours


def transaction_content(
    transaction: CreditTransaction, postings: list[CreditPosting]
) -> dict[str, Any]:
    """What a transaction's hash covers: its columns but the chain's own, and its postings."""
    return {
        "id": transaction.id,
        "kind": transaction.kind,
        "reference": transaction.reference,
        "memo": transaction.memo,
        "actor_id": transaction.actor_id,
        "at": transaction.at,
        "postings": [
            {"id": p.id, "account_id": p.account_id, "amount_minutes": p.amount_minutes}
            for p in sorted(postings, key=lambda p: str(p.id))
        ],
    }


async def post(
    uow: UnitOfWork,
    *,
    kind: str,
    reference: str,
    amounts: Mapping[uuid.UUID, int],
    releases: Mapping[uuid.UUID, int] | None = None,
    memo: str | None = None,
    transaction_id: uuid.UUID | None = None,
    field: str | None = None,
) -> CreditTransaction:
    """Move `amounts` (account -> minutes, summing to zero) and release `releases` (account ->
    reserved minutes) at once. INSUFFICIENT_CREDIT (on `field`) when an account paying would
    cross its limit."""
    if sum(amounts.values()) != 0 or 0 in amounts.values() or len(amounts) < 2:
        raise ValueError(f"not a balanced transaction: {dict(amounts)}")
    releases = releases or {}
    locked = await accounts.lock_accounts(uow.session, [*amounts, *releases])
    for account_id, minutes in releases.items():
        locked[account_id].reserved_minutes -= minutes
    for account_id, amount in amounts.items():
        account = locked[account_id]
        room = accounts.available(account)
        if amount < 0 and room is not None and room < -amount:
            raise accounts.insufficient(account, -amount, field)
        account.balance_minutes += amount
    for account in locked.values():
        accounts.changed(uow, account)
    transaction = CreditTransaction(
        id=transaction_id or uuid.uuid4(),
        kind=kind,
        reference=reference,
        memo=memo,
        actor_id=uow.actor_id,
    )
    postings = [
        CreditPosting(transaction_id=transaction.id, account_id=account_id, amount_minutes=amount)
        for account_id, amount in sorted(amounts.items())
    ]
    content = transaction_content(transaction, postings)
    uow.append_to_chain(Link(CREDIT_CHAIN, transaction, content, postings))
    return transaction


async def transfer(
    uow: UnitOfWork, to_user_id: uuid.UUID, minutes: int, memo: str | None
) -> CreditAccount:
    """A member gives time credit to another; the sender's account as it is afterwards."""
    sender_id = uow.actor_id
    assert sender_id is not None
    if to_user_id == sender_id:
        raise DomainError(
            CreditErrorCode.SELF_TRANSFER, "nobody transfers credit to themselves", "toUserId"
        )
    if not 1 <= minutes <= MAX_TRANSFER_MINUTES:
        raise DomainError(
            CreditErrorCode.INVALID_AMOUNT,
            f"minutes must be 1 to {MAX_TRANSFER_MINUTES}",
            "minutes",
        )
    memo = (memo or "").strip() or None
    if memo is not None and len(memo) > MAX_MEMO_LENGTH:
        raise DomainError(
            CreditErrorCode.INVALID_INPUT, f"memo exceeds {MAX_MEMO_LENGTH} characters", "memo"
        )
    session = uow.session
    if await session.get(User, to_user_id) is None:
        raise not_found("recipient", "toUserId")
    source = await accounts.user_account_id(session, sender_id)
    target = await accounts.user_account_id(session, to_user_id)
    transaction_id = uuid.uuid4()
    await post(
        uow,
        kind="transfer",
        reference=f"transfer:{transaction_id}",
        amounts={source: -minutes, target: minutes},
        memo=memo,
        transaction_id=transaction_id,
        field="minutes",
    )
    account = await session.get(CreditAccount, source)
    assert account is not None
    return account


async def set_limit(
    uow: UnitOfWork, roles: frozenset[str], user_id: uuid.UUID, limit_minutes: int
) -> CreditAccount:
    """Admins change a user's limit; never above what the account holds now."""
    if "admin" not in roles:
        raise forbidden("only admins change credit limits")
    if not LOWEST_LIMIT_MINUTES <= limit_minutes <= 0:
        raise DomainError(
            CreditErrorCode.INVALID_AMOUNT,
            f"limitMinutes must be {LOWEST_LIMIT_MINUTES} to 0",
            "limitMinutes",
        )
    session = uow.session
    if await session.get(User, user_id) is None:
        raise not_found("user", "userId")
    account_id = await accounts.user_account_id(session, user_id)
    account = (await accounts.lock_accounts(session, [account_id]))[account_id]
    held = account.balance_minutes - account.reserved_minutes
    if held < limit_minutes:
        raise DomainError(
            CreditErrorCode.INSUFFICIENT_CREDIT,
            f"the account holds {held} minutes (balance less reserved): the limit cannot be "
            "above that",
            "limitMinutes",
        )
    before = {"limit_minutes": account.limit_minutes}
    account.limit_minutes = limit_minutes
    accounts.changed(uow, account)
    record(
        uow,
        "credit_account.limit_set",
        "credit_account",
        account.id,
        before=before,
        after={"limit_minutes": limit_minutes, "user_id": user_id},
    )
    await session.flush()
    return account


ENTRY_ORDER = Order(
    "CreditEntry",
    "AT_DESC",
    (
        Key(CreditTransaction.at, "timestamp", descending=True),
        Key(CreditPosting.id, "uuid", descending=True),
    ),
)


def entry_listing(account_id: uuid.UUID | None) -> Listing:
    """An account's postings with their transactions, newest first (none without an account)."""
    query = (
        select(CreditPosting, CreditTransaction)
        .join(CreditTransaction, CreditTransaction.id == CreditPosting.transaction_id)
        .where(CreditPosting.account_id == account_id if account_id else false())
    )
    return Listing(query, ENTRY_ORDER)
