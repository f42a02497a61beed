"""The transactional outbox: one function (`write_event`) builds, checks, serialises and stores
an event.

The payload is serialised once; those bytes are what is stored, signed and sent, on every attempt.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError, FieldError
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.models import User
from gotong_gql.webhook.models import EVENT_TYPES, WebhookEvent

SCHEMA_VERSION = "1"
MAX_PAYLOAD_BYTES = 1024 * 1024
# Sent after the commit of every event; its handler is webhook/delivery.py's deliver_webhook.
DELIVER_WEBHOOK = "deliver_webhook"

# Field limits of SPEC 4, per event type: (path, kind, limit).
_LIMITS: dict[str, list[tuple[str, str, int]]] = {
    "contribution_created": [
        ("subject.title", "text", 200),
        ("subject.description", "text", 2000),
        ("subject.skill_ids", "items", 10),
        ("subject.metadata", "keys", 50),
    ],
    "vouch_submitted": [("subject.message", "text", 500)],
    "por_evidence": [("proof.witnesses", "items", 10)],
}


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(8)}"


def serialise(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _check_limits(event_type: str, payload: dict[str, Any], body: bytes) -> None:
    problems = []
    for path, kind, limit in _LIMITS[event_type]:
        value: Any = payload
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        if kind == "text" and len(value) > limit:
            problems.append(FieldError("INVALID_PAYLOAD", f"longer than {limit} characters", path))
        elif kind in ("items", "keys") and len(value) > limit:
            problems.append(FieldError("INVALID_PAYLOAD", f"more than {limit} {kind}", path))
    if len(body) > MAX_PAYLOAD_BYTES:
        problems.append(FieldError("INVALID_PAYLOAD", "event payload exceeds 1 MB", None))
    if problems:
        raise DomainError.many(problems)


def write_event(
    uow: UnitOfWork,
    event_type: str,
    actor: User,
    subject: dict[str, Any],
    proof: dict[str, Any] | None = None,
) -> WebhookEvent:
    """Write the event in the caller's transaction; delivery is queued for after the commit."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    now = utcnow()
    event_id = new_event_id()
    payload: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "schema_version": SCHEMA_VERSION,
        "request_id": uow.request_id,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "actor": {"user_id": str(actor.id), "username": actor.username},
        "subject": subject,
    }
    if proof is not None:
        payload["proof"] = proof
    body = serialise(payload)
    _check_limits(event_type, payload, body)
    event = WebhookEvent(
        event_id=event_id,
        event_type=event_type,
        request_id=uow.request_id,
        payload=body,
        next_attempt_at=now,
        created_at=now,
    )
    uow.session.add(event)
    uow.enqueue_after_commit(DELIVER_WEBHOOK, event_id)
    return event
