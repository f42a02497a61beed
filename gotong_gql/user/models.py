from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, func, literal_column
from sqlalchemy.orm import declared_attr, deferred

from gotong_gql.db import UTCDateTime
from gotong_gql.models_base import (
    Field,
    SQLModel,
    check,
    created_at_field,
    fk_field,
    id_field,
    in_list,
    timestamp_field,
)

GRANTABLE_ROLES = ("organizer", "verifier", "admin")
ALL_ROLES = ("contributor", *GRANTABLE_ROLES)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        check("length(username) BETWEEN 3 AND 50", "username_length"),
        check("bio IS NULL OR length(bio) <= 500", "bio_length"),
        # Usernames are unique whatever their case, as sign-in and lookups compare them; the
        # index also serves those lookups (`lower(username) = ...`).
        Index("uq_users_username_lower", func.lower(literal_column("username")), unique=True),
    )

    id: uuid.UUID = id_field()
    username: str = Field(max_length=50, unique=True)
    email: str = Field(max_length=320, unique=True)
    password_hash: str = Field(max_length=255)
    markov_user_id: str = Field(max_length=80, unique=True)
    bio: str | None = Field(default=None, max_length=500)
    location: str | None = Field(default=None, max_length=200)
    avatar_url: str | None = Field(default=None, max_length=2048)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        """Only signing in reads the password hash (user/service.py `authenticate`, which
        selects it explicitly): every other load of a User leaves it out of its SELECT, and
        reading it from such an instance raises instead of loading it (issue 13)."""
        column = cls.__table__.c.password_hash  # type: ignore[attr-defined]
        return {"properties": {"password_hash": deferred(column, raiseload=True)}}


class UserRole(SQLModel, table=True):
    """A role granted by an admin. `contributor` is everyone's and never stored."""

    __tablename__ = "user_roles"
    __table_args__ = (check(in_list("role", GRANTABLE_ROLES), "role"),)

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    role: str = Field(max_length=20, primary_key=True)
    granted_by_id: uuid.UUID | None = fk_field("users.id", ondelete="SET NULL", nullable=True)
    granted_at: datetime = created_at_field()


class RefreshToken(SQLModel, table=True):
    """One issued refresh token (by its jti). Rotation chains tokens of one login in a family."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = id_field()
    family_id: uuid.UUID = Field(index=True)
    user_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE")
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = created_at_field()
    rotated_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
