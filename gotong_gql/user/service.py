"""Accounts: registration, login, token rotation, profiles and roles."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record, snapshot
from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError, validate
from gotong_gql.keyset import Key, Listing, Order
from gotong_gql.rows import user_columns
from gotong_gql.security import IssuedToken, TokenCodec, TokenError, verify_password
from gotong_gql.skill.models import Skill, UserSkill
from gotong_gql.skill.service import ensure_skills, normalise_skill_names
from gotong_gql.uow import UnitOfWork
from gotong_gql.urls import HTTPS_ONLY, WebUrl
from gotong_gql.user.codes import AccountErrorCode
from gotong_gql.user.models import GRANTABLE_ROLES, RefreshToken, User, UserRole

MARKOV_NAMESPACE = "gotong_royong"
MAX_USER_SKILLS = 50
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROFILE_FIELDS = ("username", "bio", "location", "avatar_url")

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


class RegisterData(BaseModel):
    model_config = ConfigDict(frozen=True)
    username: Username
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320)]
    password: Password

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("not a valid email address")
        return value


class ProfileData(BaseModel):
    """Only the fields the client sent are applied (`model_fields_set`)."""

    bio: Annotated[str, StringConstraints(max_length=500)] | None = None
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    avatar_url: WebUrl | None = None
    skills: list[str] | None = None

    @field_validator("skills")
    @classmethod
    def _skill_count(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(value) > MAX_USER_SKILLS:
            raise ValueError(f"at most {MAX_USER_SKILLS} skills")
        return value


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken


class RefreshTokenReused(DomainError):
    """A rotated refresh token came back: its family must be revoked (in its own transaction)."""

    def __init__(self, family_id: uuid.UUID) -> None:
        super().__init__(
            "TOKEN_REUSED",
            "refresh token was already used; every session of it is revoked",
            "refreshToken",
        )
        self.family_id = family_id


def markov_user_id(user_id: uuid.UUID) -> str:
    return f"{MARKOV_NAMESPACE}:{user_id}"


async def roles_of(session: AsyncSession, user_id: uuid.UUID) -> frozenset[str]:
    rows = await session.scalars(select(UserRole.role).where(UserRole.user_id == user_id))
    return frozenset(rows)


async def load_user_with_roles(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[User, frozenset[str]] | None:
    """The user and their granted roles in one statement."""
    rows = (
        await session.execute(
            select(User, UserRole.role)
            .outerjoin(UserRole, UserRole.user_id == User.id)
            .where(User.id == user_id)
        )
    ).all()
    if not rows:
        return None
    return rows[0][0], frozenset(role for _, role in rows if role is not None)


async def load_roles_of_users(
    session: AsyncSession, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, frozenset[str]]:
    """The granted roles of each of these users that exists (absent: no such account), in one
    statement per 5,000 users: the per-event re-check of every subscriber (graphql/multiplex)."""
    ids = list(user_ids)
    roles: dict[uuid.UUID, set[str]] = {}
    for start in range(0, len(ids), 5000):
        rows = await session.execute(
            select(User.id, UserRole.role)
            .outerjoin(UserRole, UserRole.user_id == User.id)
            .where(User.id.in_(ids[start : start + 5000]))
        )
        for user_id, role in rows:
            granted = roles.setdefault(user_id, set())
            if role is not None:
                granted.add(role)
    return {user_id: frozenset(granted) for user_id, granted in roles.items()}


def _by_login(login: str) -> ColumnElement[bool]:
    """A login is an email or a username, trimmed and in any case."""
    normalised = login.strip().lower()
    return or_(User.email == normalised, func.lower(User.username) == normalised)


async def login_user_id(session: AsyncSession, login: str) -> uuid.UUID | None:
    """The account a login names, if any (the login limit is kept per account)."""
    return await session.scalar(select(User.id).where(_by_login(login)))


async def authenticate(session: AsyncSession, login: str, password: str) -> User:
    """Login with email or username. The same error for an unknown user and a wrong password."""
    # The one read of the hash, which User's mapping leaves out of every other (models.py).
    found = (
        await session.execute(select(User, User.password_hash).where(_by_login(login)))
    ).first()
    user, known = found if found else (None, None)
    # Argon2 takes a quarter of a second on purpose: off the event loop.
    if not await asyncio.to_thread(verify_password, known, password) or user is None:
        raise DomainError(AccountErrorCode.INVALID_CREDENTIALS, "wrong login or password")
    return user


async def issue_tokens(
    uow: UnitOfWork, codec: TokenCodec, user: User, family_id: uuid.UUID | None = None
) -> TokenPair:
    family_id = family_id or uuid.uuid4()
    refresh = codec.issue(user.id, "refresh", family_id=family_id)
    uow.session.add(
        RefreshToken(
            id=refresh.claims.jti,
            family_id=family_id,
            user_id=user.id,
            expires_at=refresh.claims.expires_at,
        )
    )
    await uow.session.flush()
    return TokenPair(access=codec.issue(user.id, "access"), refresh=refresh)


async def _refresh_row(uow: UnitOfWork, codec: TokenCodec, token: str) -> RefreshToken:
    try:
        claims = codec.decode(token, "refresh")
    except TokenError as exc:
        raise DomainError(exc.code, str(exc), "refreshToken") from None
    row = await uow.session.get(RefreshToken, claims.jti, with_for_update=True)
    if row is None or row.user_id != claims.user_id:
        raise DomainError(AccountErrorCode.INVALID_TOKEN, "unknown refresh token", "refreshToken")
    return row


async def rotate_refresh_token(uow: UnitOfWork, codec: TokenCodec, token: str) -> TokenPair:
    """A refresh token is good once: it is replaced by a new one of the same family."""
    row = await _refresh_row(uow, codec, token)
    if row.revoked_at is not None:
        raise DomainError(
            AccountErrorCode.TOKEN_REVOKED, "refresh token was revoked", "refreshToken"
        )
    if row.rotated_at is not None:
        raise RefreshTokenReused(row.family_id)
    user = await uow.session.get(User, row.user_id)
    if user is None:
        raise DomainError(AccountErrorCode.INVALID_TOKEN, "unknown refresh token", "refreshToken")
    row.rotated_at = utcnow()
    return await issue_tokens(uow, codec, user, family_id=row.family_id)


async def revoke_family(uow: UnitOfWork, family_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_refresh_token(
    uow: UnitOfWork, codec: TokenCodec, token: str, *, all_sessions: bool
) -> None:
    """Logout: the token's family, or every session of its user."""
    row = await _refresh_row(uow, codec, token)
    condition = (
        RefreshToken.user_id == row.user_id
        if all_sessions
        else RefreshToken.family_id == row.family_id
    )
    await uow.session.execute(
        update(RefreshToken)
        .where(condition, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def update_profile(
    uow: UnitOfWork, user: User, raw: dict[str, object], *, https_only: bool = True
) -> User:
    data = validate(ProfileData, raw, context={HTTPS_ONLY: https_only})
    before = snapshot(user, PROFILE_FIELDS)
    for name in data.model_fields_set - {"skills"}:
        setattr(user, name, getattr(data, name))
    after = snapshot(user, PROFILE_FIELDS)
    if data.skills is not None:
        before["skills"] = await _skill_names(uow.session, user.id)
        after["skills"] = await _replace_skills(uow.session, user.id, data.skills)
    if before != after:
        user.updated_at = utcnow()
        record(uow, "user.update", "user", user.id, before=before, after=after)
    await uow.session.flush()
    return user


async def _skill_names(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(Skill.name).join(UserSkill).where(UserSkill.user_id == user_id).order_by(Skill.name)
    )
    return list(rows)


async def _replace_skills(session: AsyncSession, user_id: uuid.UUID, names: list[str]) -> list[str]:
    """The user's declared skills become exactly `names`; kept skills keep their proficiency."""
    skills = await ensure_skills(session, normalise_skill_names(names))
    wanted = {skill.id for skill in skills}
    await session.execute(
        delete(UserSkill).where(UserSkill.user_id == user_id, UserSkill.skill_id.not_in(wanted))
    )
    existing = set(
        await session.scalars(select(UserSkill.skill_id).where(UserSkill.user_id == user_id))
    )
    session.add_all(UserSkill(user_id=user_id, skill_id=skill_id) for skill_id in wanted - existing)
    return sorted(skill.name for skill in skills)


def ensure_grantable(role: str) -> None:
    if role not in GRANTABLE_ROLES:
        raise DomainError(
            AccountErrorCode.INVALID_ROLE,
            f"role must be one of {', '.join(GRANTABLE_ROLES).upper()}",
            "role",
        )


USERNAME_ORDER = Order("User", "USERNAME_ASC", (Key(User.username, "text"), Key(User.id, "uuid")))
PROFICIENCY_ORDER = Order(
    "User",
    "PROFICIENCY_DESC",
    (
        Key(UserSkill.proficiency, "float", True),
        Key(UserSkill.endorsements_count, "int", True),
        Key(User.username, "text"),
        Key(User.id, "uuid"),
    ),
)


def user_listing(*, search: str | None, skill: str | None) -> Listing:
    """Users by username; with `skill`, only those who have it, best (most proficient) first."""
    query = select(*user_columns())
    if search:
        needle = search.strip().lower()
        query = query.where(
            or_(
                func.lower(User.username).contains(needle, autoescape=True),
                func.lower(func.coalesce(User.bio, "")).contains(needle, autoescape=True),
            )
        )
    if not skill:
        return Listing(query, USERNAME_ORDER, rows=True)
    slug = normalise_skill_names([skill], field="filter.skill")[0]
    query = (
        query.join(UserSkill, UserSkill.user_id == User.id)
        .join(Skill, Skill.id == UserSkill.skill_id)
        .where(Skill.name == slug)
    )
    return Listing(query, PROFICIENCY_ORDER, rows=True)


async def find_user(
    session: AsyncSession, *, user_id: uuid.UUID | None, username: str | None
) -> Any | None:
    """The user's row (Core, without the password hash: gotong_gql/rows.py), for display."""
    if user_id is not None:
        condition = User.id == user_id
    else:
        condition = func.lower(User.username) == (username or "").strip().lower()
    return (await session.execute(select(*user_columns()).where(condition))).first()
