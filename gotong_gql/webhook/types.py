from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gotong_gql.graphql.errors import UserError
from gotong_gql.webhook.models import WebhookEvent, WebhookFailure


@strawberry.enum
class WebhookEventStatus(Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    DELIVERED = "delivered"
    FAILED = "failed"


@strawberry.enum
class WebhookEventType(Enum):
    CONTRIBUTION_CREATED = "contribution_created"
    VOUCH_SUBMITTED = "vouch_submitted"
    POR_EVIDENCE = "por_evidence"


@strawberry.type(name="WebhookEvent", description="An outbox event and its delivery state.")
class WebhookEventType_:
    event_id: str
    event_type: WebhookEventType
    status: WebhookEventStatus
    attempts: int
    request_id: str | None
    payload: str = strawberry.field(description="The exact JSON text that is signed and sent.")
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    error: str | None
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: WebhookEvent) -> WebhookEventType_:
        return cls(
            event_id=row.event_id,
            event_type=WebhookEventType(row.event_type),
            status=WebhookEventStatus(row.status),
            attempts=row.attempts,
            request_id=row.request_id,
            payload=row.payload.decode(),
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            last_attempt_at=row.last_attempt_at,
            last_status_code=row.last_status_code,
            error=row.error,
            delivered_at=row.delivered_at,
        )


@strawberry.type(name="WebhookFailure", description="A dead letter.")
class WebhookFailureType:
    event_id: str
    event_type: WebhookEventType
    error: str | None
    status_code: int | None
    attempts: int
    retryable: bool = strawberry.field(
        description="Retried automatically on the slow lane (next_retry_at) when true."
    )
    next_retry_at: datetime | None
    created_at: datetime
    replayed_at: datetime | None

    @classmethod
    def from_row(cls, row: WebhookFailure) -> WebhookFailureType:
        return cls(
            event_id=row.event_id,
            event_type=WebhookEventType(row.event_type),
            error=row.error,
            status_code=row.status_code,
            attempts=row.attempts,
            retryable=row.retryable,
            next_retry_at=row.next_retry_at,
            created_at=row.created_at,
            replayed_at=row.replayed_at,
        )


@strawberry.enum
class WebhookErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    NOT_FAILED = "NOT_FAILED"
    FORBIDDEN = "FORBIDDEN"


@strawberry.type
class WebhookError(UserError):
    code: WebhookErrorCode


@strawberry.input
class WebhookEventFilterInput:
    status: WebhookEventStatus | None = None
    event_type: WebhookEventType | None = None
