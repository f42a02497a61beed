from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from gotong_gql.models_base import (
    Field,
    SQLModel,
    check,
    created_at_field,
    id_field,
    in_list,
    timestamp_field,
)

EVENT_TYPES = ("contribution_created", "vouch_submitted", "por_evidence")
EVENT_STATUSES = ("pending", "processing", "delivered", "failed")


class WebhookEvent(SQLModel, table=True):
    """The transactional outbox: `payload` holds the exact bytes that are signed and sent."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        check(in_list("status", EVENT_STATUSES), "status"),
        check(in_list("event_type", EVENT_TYPES), "event_type"),
        check("attempts >= 0", "attempts_nonnegative"),
        sa.Index("ix_webhook_events_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: uuid.UUID = id_field()
    event_id: str = Field(max_length=40, unique=True)
    event_type: str = Field(max_length=40)
    request_id: str | None = Field(default=None, max_length=128)
    payload: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp_field()
    lease_until: datetime | None = timestamp_field()
    last_attempt_at: datetime | None = timestamp_field()
    last_status_code: int | None = None
    error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_at_field()
    delivered_at: datetime | None = timestamp_field()


class WebhookFailure(SQLModel, table=True):
    """A dead letter: kept with its last status and error until replayed."""

    __tablename__ = "webhook_failures"

    id: uuid.UUID = id_field()
    event_id: str = Field(
        max_length=40, foreign_key="webhook_events.event_id", ondelete="CASCADE", index=True
    )
    event_type: str = Field(max_length=40)
    payload: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    error: str | None = Field(default=None, max_length=2000)
    status_code: int | None = None
    attempts: int = 0
    retryable: bool = False
    # The slow lane: a retryable dead letter is tried again at next_retry_at (minutes to a day).
    slow_round: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_retry_at: datetime | None = timestamp_field(index=True)
    created_at: datetime = created_at_field()
    replayed_at: datetime | None = timestamp_field()
