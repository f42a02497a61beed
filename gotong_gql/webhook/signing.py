"""The two signature schemes of a delivery: X-GR-Signature and Standard Webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac


def gr_signature(secret: str, body: bytes) -> str:
    """`X-GR-Signature`: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secrets: list[str], event_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: `v1,<base64 HMAC of "id.timestamp.body">`, one per secret, spaced."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
        for secret in secrets
    )
