from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gotong_gql.graphql.errors import CODE, UserError, error_code_enum
from gotong_gql.webhook import codes
from gotong_gql.webhook.models import WebhookEvent, WebhookFailure


@strawberry.enum(description="Where an outbox event is in its delivery to the Markov Engine.")
class WebhookEventStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting for its next attempt.")
    PROCESSING = strawberry.enum_value("processing", description="A worker is sending it now.")
    DELIVERED = strawberry.enum_value("delivered", description="Markov answered 200 or 202.")
    FAILED = strawberry.enum_value(
        "failed", description="Attempts exhausted or refused for good: a dead letter."
    )


@strawberry.enum(description="The kinds of event sent to the Markov Engine (SPEC 4).")
class WebhookEventType(Enum):
    CONTRIBUTION_CREATED = strawberry.enum_value(
        "contribution_created", description="A contribution was recorded."
    )
    VOUCH_SUBMITTED = strawberry.enum_value("vouch_submitted", description="A vouch was made.")
    POR_EVIDENCE = strawberry.enum_value(
        "por_evidence", description="Proof-of-Reality evidence was verified."
    )


@strawberry.type(
    name="WebhookEvent", description="An outbox event and its delivery state; admins only."
)
class WebhookEventType_:
    event_id: str = strawberry.field(
        description="`evt_` and 16 lowercase hex digits; Markov deduplicates by it."
    )
    event_type: WebhookEventType = strawberry.field(description="What happened.")
    status: WebhookEventStatus = strawberry.field(description="Where its delivery is.")
    attempts: int = strawberry.field(description="Delivery attempts so far in this round.")
    request_id: str | None = strawberry.field(
        description="The request that caused the event; also its `X-Request-ID` header."
    )
    payload: str = strawberry.field(description="The exact JSON text that is signed and sent.")
    created_at: datetime = strawberry.field(description="When the event was committed.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next; null once delivered or failed."
    )
    last_attempt_at: datetime | None = strawberry.field(
        description="When it was last tried; null before the first attempt."
    )
    last_status_code: int | None = strawberry.field(
        description="Markov's HTTP status at the last attempt; null without one (e.g. a timeout)."
    )
    error: str | None = strawberry.field(
        description="What went wrong at the last failed attempt; null if none failed."
    )
    delivered_at: datetime | None = strawberry.field(
        description="When Markov accepted it; null until then."
    )

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


@strawberry.type(
    name="WebhookFailure",
    description="A dead letter: an event whose delivery round failed; admins only.",
)
class WebhookFailureType:
    event_id: str = strawberry.field(description="The `WebhookEvent`'s `eventId`.")
    event_type: WebhookEventType = strawberry.field(description="What happened.")
    error: str | None = strawberry.field(description="The last error; null if none was given.")
    status_code: int | None = strawberry.field(
        description="Markov's last HTTP status; null when there was no answer."
    )
    attempts: int = strawberry.field(description="Attempts made in the failed round.")
    retryable: bool = strawberry.field(
        description="Retried automatically on the slow lane (next_retry_at) when true."
    )
    next_retry_at: datetime | None = strawberry.field(
        description="When the slow lane tries it again (5 minutes to a day after failing); null "
        "when it will not be."
    )
    created_at: datetime = strawberry.field(description="When the round failed.")
    replayed_at: datetime | None = strawberry.field(
        description="When it was sent again (a replay or the slow lane); null until then."
    )

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


WebhookErrorCode = error_code_enum(codes.WebhookErrorCode, "Why `webhookEventReplay` refused.")


@strawberry.type(description="Why `webhookEventReplay` refused; nothing was written.")
class WebhookError(UserError):
    code: WebhookErrorCode = strawberry.field(description=CODE)


@strawberry.input(description="Which outbox events to list; the fields given must all match.")
class WebhookEventFilterInput:
    status: WebhookEventStatus | None = strawberry.field(
        default=None, description="Events in this state."
    )
    event_type: WebhookEventType | None = strawberry.field(
        default=None, description="Events of this kind."
    )
