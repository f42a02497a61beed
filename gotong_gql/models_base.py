"""Shared pieces of every table: metadata naming convention, ids and timestamps."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from gotong_gql.db import JSONType, UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def id_field() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def json_field(default_factory: Any = dict, *, name: str | None = None) -> Any:
    """A JSON column (JSONB on PostgreSQL); `name` when the attribute cannot be the column name."""
    kwargs = {"name": name} if name else {}
    return Field(
        default_factory=default_factory,
        sa_type=JSONType,
        nullable=False,
        sa_column_kwargs=kwargs,
    )


def fk_field(target: str, *, ondelete: str, nullable: bool = False, index: bool = True) -> Any:
    return Field(
        default=None, foreign_key=target, ondelete=ondelete, nullable=nullable, index=index
    )


def check(expression: str, name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(expression, name=name)


def in_list(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


__all__ = [
    "Field",
    "SQLModel",
    "check",
    "created_at_field",
    "fk_field",
    "id_field",
    "in_list",
    "json_field",
    "timestamp_field",
]
