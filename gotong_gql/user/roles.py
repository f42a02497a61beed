"""Roles granted by admins (ORGANIZER, VERIFIER, ADMIN); everyone is a CONTRIBUTOR."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record
from gotong_gql.errors import DomainError, forbidden, not_found
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.codes import AccountErrorCode
from gotong_gql.user.models import User, UserRole
from gotong_gql.user.service import ensure_grantable, roles_of


def _ensure_admin(roles: frozenset[str]) -> None:
    if "admin" not in roles:
        raise forbidden("only admins manage roles")


async def grant_role(
    uow: UnitOfWork, actor_roles: frozenset[str], user_id: uuid.UUID, role: str
) -> tuple[User, frozenset[str]]:
    _ensure_admin(actor_roles)
    ensure_grantable(role)
    user = await uow.session.get(User, user_id)
    if user is None:
        raise not_found("user", "userId")
    roles = await roles_of(uow.session, user_id)
    if role not in roles:
        uow.session.add(UserRole(user_id=user_id, role=role, granted_by_id=uow.actor_id))
        record(
            uow,
            "user.role_grant",
            "user",
            user_id,
            before={"roles": sorted(roles)},
            after={"roles": sorted(roles | {role})},
        )
        await uow.session.flush()
    return user, roles | {role}


async def _locked_admins(session: AsyncSession) -> set[uuid.UUID]:
    """Every admin, read under a lock on every admin grant (`FOR UPDATE`, in one order so that
    two demotions cannot deadlock). Two admins demoting each other at once are so serialised on
    PostgreSQL too: the second waits, then sees what the first left, and there is always an
    admin. (A count without the lock let both pass and left none.)"""
    rows = await session.scalars(
        select(UserRole.user_id)
        .where(UserRole.role == "admin")
        .order_by(UserRole.user_id)
        .with_for_update()
    )
    return set(rows)


async def revoke_role(
    uow: UnitOfWork, actor_roles: frozenset[str], user_id: uuid.UUID, role: str
) -> tuple[User, frozenset[str]]:
    _ensure_admin(actor_roles)
    ensure_grantable(role)
    user = await uow.session.get(User, user_id)
    if user is None:
        raise not_found("user", "userId")
    roles = await roles_of(uow.session, user_id)
    if role == "admin":
        admins = await _locked_admins(uow.session)
        if uow.actor_id not in admins:
            raise forbidden("only admins manage roles")
        roles = roles - {"admin"} | ({"admin"} if user_id in admins else set())
        if user_id in admins and len(admins) == 1:
            raise DomainError(
                AccountErrorCode.LAST_ADMIN, "the last admin cannot lose the admin role", "role"
            )
    if role in roles:
        await uow.session.execute(
            delete(UserRole).where(UserRole.user_id == user_id, UserRole.role == role)
        )
        record(
            uow,
            "user.role_revoke",
            "user",
            user_id,
            before={"roles": sorted(roles)},
            after={"roles": sorted(roles - {role})},
        )
    return user, roles - {role}
