"""The codes `webhookEventReplay` refuses with."""

from __future__ import annotations

from gotong_gql.errors import ErrorCode


class WebhookErrorCode(ErrorCode):
    NOT_FOUND = "NOT_FOUND", "No event has the `eventId`."
    NOT_FAILED = "NOT_FAILED", "The event is not FAILED; only dead letters replay."
    FORBIDDEN = "FORBIDDEN", "Only admins replay events."
