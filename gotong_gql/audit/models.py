from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gotong_gql.db import JSONType
from gotong_gql.models_base import Field, SQLModel, created_at_field, id_field, timestamp_field

HASH_LENGTH = 64  # SHA-256, hexadecimal


class AuditLog(SQLModel, table=True):
    """Append-only trail of every state change, chained by hashes (audit/chain.py).

    `actor_id` names the user without a foreign key: an entry is never changed, not even to
    forget a deleted user (ON DELETE SET NULL would be an UPDATE of a hashed column)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity_entity_id_at", "entity", "entity_id", "at"),)

    id: uuid.UUID = id_field()
    actor_id: uuid.UUID | None = Field(default=None, nullable=True)
    action: str = Field(max_length=60)
    entity: str = Field(max_length=40)
    entity_id: uuid.UUID
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    request_id: str | None = Field(default=None, max_length=128)
    at: datetime = created_at_field()
    # Set when the unit of work seals its chain links, just before it commits (audit/chain.py).
    seq: int = Field(sa_type=sa.BigInteger, unique=True)
    prev_hash: str = Field(max_length=HASH_LENGTH)
    hash: str = Field(max_length=HASH_LENGTH)


class ChainHead(SQLModel, table=True):
    """The newest link of one chain: its position (the chain's length) and hash. Appending
    locks this row, so that appends to one chain are serialised (audit/chain.py)."""

    __tablename__ = "audit_chain_heads"

    chain: str = Field(max_length=40, primary_key=True)
    seq: int = Field(default=0, sa_type=sa.BigInteger)
    hash: str = Field(max_length=HASH_LENGTH)
    at: datetime | None = timestamp_field()
