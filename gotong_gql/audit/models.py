from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gotong_gql.db import JSONType
from gotong_gql.models_base import Field, SQLModel, created_at_field, fk_field, id_field


class AuditLog(SQLModel, table=True):
    """Append-only trail of every state change."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity_entity_id_at", "entity", "entity_id", "at"),)

    id: uuid.UUID = id_field()
    actor_id: uuid.UUID | None = fk_field(
        "users.id", ondelete="SET NULL", nullable=True, index=False
    )
    action: str = Field(max_length=60)
    entity: str = Field(max_length=40)
    entity_id: uuid.UUID
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    request_id: str | None = Field(default=None, max_length=128)
    at: datetime = created_at_field()
