from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from gotong_gql.models_base import (
    Field,
    SQLModel,
    check,
    created_at_field,
    fk_field,
    id_field,
    in_list,
)

WEIGHT_HINTS = ("strong", "moderate", "light")


class Vouch(SQLModel, table=True):
    """One vouch per (voucher, vouchee, skill); one general vouch (no skill) per pair."""

    __tablename__ = "vouches"
    __table_args__ = (
        check("voucher_id <> vouchee_id", "no_self_vouch"),
        check(f"weight_hint IS NULL OR {in_list('weight_hint', WEIGHT_HINTS)}", "weight_hint"),
        check("message IS NULL OR length(message) <= 500", "message_length"),
        sa.UniqueConstraint("voucher_id", "vouchee_id", "skill_id"),
        sa.Index(
            "uq_vouches_general_pair",
            "voucher_id",
            "vouchee_id",
            unique=True,
            postgresql_where=sa.text("skill_id IS NULL"),
            sqlite_where=sa.text("skill_id IS NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    voucher_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE")
    vouchee_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE")
    skill_id: uuid.UUID | None = fk_field("skills.id", ondelete="RESTRICT", nullable=True)
    weight_hint: str | None = Field(default=None, max_length=20)
    message: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
