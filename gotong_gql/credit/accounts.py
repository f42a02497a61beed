"""Credit accounts: opening them, and every change to a balance, reservation or limit.

Invariant: after any unit of work, every account with a limit has `balance - reserved - limit
>= 0`. Every change goes through `lock_accounts`, which reads the accounts afresh under a lock
(`FOR UPDATE`, in id order so that two units of work locking the same accounts cannot deadlock;
on SQLite the unit of work's write lock), checks, and only then changes them; a check that
fails is INSUFFICIENT_CREDIT and the unit of work writes nothing. The database's own check
(`ck_credit_accounts_available_nonnegative`) stands behind it. Locks are taken in one order
across the code: tasks and contributions first, then accounts, then the chain heads at commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.credit.codes import CreditErrorCode
from gotong_gql.credit.models import COMMUNITY_ACCOUNT_ID, DEFAULT_LIMIT_MINUTES, CreditAccount
from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError
from gotong_gql.uow import UnitOfWork


def available(account: CreditAccount) -> int | None:
    """What the account may still spend or reserve; None without a limit."""
    if account.limit_minutes is None:
        return None
    return account.balance_minutes - account.reserved_minutes - account.limit_minutes


def insufficient(account: CreditAccount, minutes: int, field: str | None = None) -> DomainError:
    return DomainError(
        CreditErrorCode.INSUFFICIENT_CREDIT,
        f"{minutes} minutes would cross the credit limit: {available(account)} available",
        field,
    )


def open_account(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A new user's account, made with the user."""
    session.add(CreditAccount(user_id=user_id))


async def _insert_missing(session: AsyncSession, key: str, **values: object) -> None:
    """An account, unless one with the same `key` exists (or is being made concurrently)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    await session.execute(
        dialect.insert(CreditAccount)
        .values(balance_minutes=0, reserved_minutes=0, created_at=now, updated_at=now, **values)
        .on_conflict_do_nothing(index_elements=[key])
    )


async def account_of_user(session: AsyncSession, user_id: uuid.UUID) -> CreditAccount | None:
    return await session.scalar(select(CreditAccount).where(CreditAccount.user_id == user_id))


async def user_account_id(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID:
    """The user's account; one is opened for a user who has none (made before the ledger
    existed in a way the migration did not see, such as rows written by SQL)."""
    query = select(CreditAccount.id).where(CreditAccount.user_id == user_id)
    account_id = await session.scalar(query)
    if account_id is None:
        await _insert_missing(
            session,
            "user_id",
            id=uuid.uuid4(),
            user_id=user_id,
            kind="user",
            limit_minutes=DEFAULT_LIMIT_MINUTES,
        )
        account_id = await session.scalar(query)
    assert account_id is not None
    return account_id


async def community_account_id(session: AsyncSession) -> uuid.UUID:
    """The installation's community account (made by the migration; again if it is gone)."""
    if await session.get(CreditAccount, COMMUNITY_ACCOUNT_ID) is None:
        await _insert_missing(
            session, "id", id=COMMUNITY_ACCOUNT_ID, kind="community", limit_minutes=None
        )
    return COMMUNITY_ACCOUNT_ID


async def lock_accounts(
    session: AsyncSession, account_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, CreditAccount]:
    """The accounts as they are now, locked until the unit of work ends."""
    wanted = sorted(set(account_ids))
    rows = await session.scalars(
        select(CreditAccount)
        .where(CreditAccount.id.in_(wanted))
        .order_by(CreditAccount.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


def changed(uow: UnitOfWork, account: CreditAccount) -> None:
    """Mark an account changed: its time, and a live event for its owner after commit."""
    account.updated_at = utcnow()
    if account.user_id is not None:
        uow.publish_after_commit(
            f"credit:user:{account.user_id}",
            {"type": "UPDATED", "account_id": str(account.id), "at": utcnow().isoformat()},
        )


async def reserve(uow: UnitOfWork, account_id: uuid.UUID, minutes: int) -> None:
    """Hold `minutes` of the account's credit; INSUFFICIENT_CREDIT past its limit."""
    account = (await lock_accounts(uow.session, [account_id]))[account_id]
    room = available(account)
    if room is not None and room < minutes:
        raise insufficient(account, minutes)
    account.reserved_minutes += minutes
    changed(uow, account)


async def release(uow: UnitOfWork, account_id: uuid.UUID, minutes: int) -> None:
    account = (await lock_accounts(uow.session, [account_id]))[account_id]
    account.reserved_minutes -= minutes
    changed(uow, account)
