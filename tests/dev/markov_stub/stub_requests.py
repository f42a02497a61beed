"""Requests to the Markov stub: valid SPEC 4 events, signed as a sender signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from gotong_gql.dev.markov_stub.app import create_stub_app

SECRET = "stub-current-secret-" + "c" * 24
PREVIOUS = "stub-previous-secret-" + "p" * 24
TOKEN = "markov-platform-token"
WEBHOOK = "/api/v1/platforms/gotong_royong/webhook"
ALICE = "0b6f1e2a-3c4d-4e5f-8a9b-1c2d3e4f5a6b"
BOB = "7d8e9f00-1a2b-4c3d-9e4f-5a6b7c8d9e0f"
SKILL_A = "11111111-1111-4111-8111-111111111111"
SKILL_B = "22222222-2222-4222-8222-222222222222"

_counter = iter(range(1, 1_000_000))


def event(event_type: str, subject: dict[str, Any], actor: str = ALICE, **extra: Any) -> dict:
    """A valid SPEC 4 payload with a fresh event_id."""
    number = next(_counter)
    return {
        "event_id": f"evt_{number:016x}",
        "event_type": event_type,
        "schema_version": "1",
        "request_id": f"req_{number}",
        "timestamp": "2026-02-09T10:30:00.123456Z",
        "actor": {"user_id": actor, "username": f"user-{actor[:4]}"},
        "subject": subject,
        **extra,
    }


def contribution(actor: str = ALICE, skill_ids: list[str] | None = None) -> dict:
    subject = {
        "contribution_type": "community_service",
        "title": "Cleaned the river bank",
        "description": "Two hours with the neighbourhood.",
        "evidence_url": None,
        "skill_ids": skill_ids or [],
        "metadata": {"task_id": "b1", "location": "Bandung", "duration_hours": 2},
    }
    return event("contribution_created", subject, actor)


def vouch(vouchee: str = ALICE, skill_id: str | None = None, voucher: str = BOB) -> dict:
    subject = {"vouchee_id": vouchee, "skill_id": skill_id, "weight_hint": "strong", "message": ""}
    return event("vouch_submitted", subject, voucher)


def evidence(actor: str = ALICE) -> dict:
    subject = {
        "contribution_id": "c0ffee00-0000-4000-8000-000000000001",
        "evidence_type": "gps_verification",
        "evidence_data": {"photo_url": None},
    }
    proof = {
        "timestamp": "2026-02-09T17:30:00+07:00",
        "location": {"lat": -6.9, "lon": 107.6},
        "media_hash": "ab" * 32,
        "witnesses": [{"witness_name": "Siti", "relationship": "peer", "statement": "Saw it."}],
    }
    return event("por_evidence", subject, actor, proof=proof)


def gr_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(body: bytes, request_id: str, secret: str = SECRET, **over: Any) -> dict:
    """The headers a sender puts on a delivery, signed exactly as SPEC 4 says."""
    timestamp = over.pop("timestamp", int(time.time()))
    webhook_id = "msg_" + hashlib.sha256(body).hexdigest()[:16]
    return {
        "Content-Type": "application/json",
        "User-Agent": "GotongRoyong/0.1.0",
        "X-Request-ID": request_id,
        "X-GR-Signature": gr_signature(secret, body),
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, webhook_id, timestamp, body),
        **over,
    }


def serialise(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def send(
    client: httpx.AsyncClient, payload: dict, secret: str = SECRET, **headers: Any
) -> httpx.Response:
    body = serialise(payload)
    request_id = payload.get("request_id") or "req_none"
    return await client.post(
        WEBHOOK, content=body, headers=signed_headers(body, request_id, secret, **headers)
    )


def stub_client(**options: Any) -> httpx.AsyncClient:
    app = create_stub_app(SECRET, **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://markov")


async def stats(client: httpx.AsyncClient) -> dict[str, int]:
    return (await client.get("/_stub/stats")).json()


async def log(client: httpx.AsyncClient) -> list[dict]:
    return (await client.get("/_stub/events")).json()["events"]


async def reputation(client: httpx.AsyncClient, user: str, token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.get(f"/api/v1/users/gotong_royong:{user}/reputation", headers=headers)


def fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


# Acceptance and deduplication -----------------------------------------------------------------
