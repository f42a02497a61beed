"""Making accounts: registration (`accountRegister`) and users with roles at once (the CLI and
the demo seed). Usernames are unique in any case and emails unique: checked first, each on its
own, and held by the database's unique indexes against concurrent registrations."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record, snapshot
from gotong_gql.credit.accounts import open_account
from gotong_gql.errors import DomainError, FieldError, validate
from gotong_gql.security import hash_password
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.codes import AccountErrorCode
from gotong_gql.user.models import User, UserRole
from gotong_gql.user.service import PROFILE_FIELDS, RegisterData, ensure_grantable, markov_user_id


@dataclass(frozen=True)
class Registration:
    """Checked input with the password already hashed: Argon2 takes a quarter of a second on
    purpose, so it runs before the unit of work, never under its write lock."""

    data: RegisterData
    password_hash: str


async def prepare_registration(raw: dict[str, object]) -> Registration:
    data = validate(RegisterData, raw)
    return Registration(data, await asyncio.to_thread(hash_password, data.password))


async def register(uow: UnitOfWork, registration: Registration) -> User:
    data = registration.data
    session = uow.session
    await _ensure_available(session, data.username, data.email)
    user_id = uuid.uuid4()
    user = User(
        id=user_id,
        username=data.username,
        email=data.email,
        password_hash=registration.password_hash,
        markov_user_id=markov_user_id(user_id),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent registration took the name or the email
        raise _taken(error) from None
    open_account(session, user.id)
    uow.actor_id = uow.actor_id or user.id
    record(uow, "user.register", "user", user.id, after=snapshot(user, PROFILE_FIELDS))
    return user


async def _ensure_available(session: AsyncSession, username: str, email: str) -> None:
    """Each unique field on its own, every taken one reported, in a fixed order: an answer
    never tells whose email it is (one OR query answered for whichever row came first)."""
    taken = (
        await session.execute(
            select(
                exists().where(func.lower(User.username) == username.lower()),
                exists().where(User.email == email),
            )
        )
    ).one()
    errors = []
    if taken[0]:
        errors.append(
            FieldError(AccountErrorCode.USERNAME_TAKEN, "this username is taken", "username")
        )
    if taken[1]:
        errors.append(
            FieldError(AccountErrorCode.EMAIL_TAKEN, "an account with this email exists", "email")
        )
    if errors:
        raise DomainError.many(errors)


def _taken(error: IntegrityError) -> DomainError:
    """The unique index a concurrent registration won (the check above saw neither row), by
    the name the message's first line gives (PostgreSQL's constraint, SQLite's column); the
    lines after it quote the values."""
    named = str(error.orig).splitlines()[0] if str(error.orig) else ""
    if "uq_users_email" in named or "users.email" in named:
        return DomainError(
            AccountErrorCode.EMAIL_TAKEN, "an account with this email exists", "email"
        )
    return DomainError(AccountErrorCode.USERNAME_TAKEN, "this username is taken", "username")


async def create_user(uow: UnitOfWork, raw: dict[str, object], roles: list[str]) -> User:
    """For the CLI (`gotong-gql user create`) and the demo seed: a user with roles at once."""
    for role in roles:
        ensure_grantable(role)
    user = await register(uow, await prepare_registration(raw))
    if roles:
        uow.session.add_all(UserRole(user_id=user.id, role=role) for role in set(roles))
        record(
            uow,
            "user.role_grant",
            "user",
            user.id,
            before={"roles": []},
            after={"roles": sorted(set(roles))},
        )
        await uow.session.flush()
    return user
