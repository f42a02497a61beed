"""SPEC 4 delivery, end to end: GraphQL mutation -> outbox row -> Redis -> worker -> receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time

import httpx

from tests.helpers import register, uuid_text
from tests.webhook.conftest import MARKOV_SECRET, eventually

CONTRIBUTE = """
mutation($input: ContributionCreateInput!) {
  contributionCreate(input: $input) { contribution { id } errors { path code } }
}"""
CONTRIBUTION = {
    "contributionType": "DOCUMENTATION",
    "title": "Wrote the river guide",
    "description": "Twelve pages",
    "skills": ["Writing"],
    "metadata": {"pages": 12},
}


async def _contribute(api, account, request_id="req-test-1") -> str:
    response = await api.client.post(
        "/graphql",
        json={"query": CONTRIBUTE, "variables": {"input": CONTRIBUTION}},
        headers={"Authorization": f"Bearer {account.token}", "X-Request-ID": request_id},
    )
    payload = response.json()["data"]["contributionCreate"]
    assert payload["errors"] == []
    (row,) = await api.sql("SELECT event_id FROM webhook_events")
    return row.event_id


async def _event_row(api, event_id):
    (row,) = await api.sql(
        "SELECT status, attempts, last_status_code, error, payload FROM webhook_events"
        " WHERE event_id = :e",
        e=event_id,
    )
    return row


def _received(markov, event_id):
    """Every request the receiver saw for this event (faulted ones are not parsed: match the
    webhook-id header)."""
    return [e for e in markov.events() if e["headers"].get("webhook-id") == event_id]


async def _delivered(api, event_id):
    row = await _event_row(api, event_id)
    return row if row.status == "delivered" else None


async def _failed(api, event_id):
    row = await _event_row(api, event_id)
    return row if row.status == "failed" else None


async def test_event_arrives_signed_with_both_schemes(api, markov, worker):
    account = await register(api, "ayu")
    event_id = await _contribute(api, account, request_id="req-happy-1")
    row = await eventually(lambda: _delivered(api, event_id))
    assert (row.attempts, row.last_status_code) == (1, 200)

    (received,) = _received(markov, event_id)
    body = base64.b64decode(received["body_b64"])
    assert body == bytes(row.payload)  # the stored bytes are the bytes sent
    headers = received["headers"]
    expected_gr = hmac.new(MARKOV_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-gr-signature"] == f"sha256={expected_gr}"
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected_std = base64.b64encode(
        hmac.new(MARKOV_SECRET.encode(), signed, hashlib.sha256).digest()
    ).decode()
    assert headers["webhook-signature"] == f"v1,{expected_std}"
    assert headers["webhook-id"] == event_id
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["x-request-id"] == "req-happy-1"
    assert headers["content-type"] == "application/json"
    assert re.fullmatch(r"GotongRoyong/\S+", headers["user-agent"])

    payload = json.loads(body)
    assert re.fullmatch(r"evt_[0-9a-f]{16}", payload["event_id"])
    (user,) = await api.sql("SELECT id FROM users")
    (contribution,) = await api.sql("SELECT id FROM contributions")
    (skill,) = await api.sql("SELECT id FROM skills WHERE name = 'writing'")
    assert payload == {
        "event_id": event_id,
        "event_type": "contribution_created",
        "schema_version": "1",
        "request_id": "req-happy-1",
        "timestamp": payload["timestamp"],
        "actor": {"user_id": uuid_text(user.id), "username": "ayu"},
        "subject": {
            "contribution_id": uuid_text(contribution.id),
            "contribution_type": "documentation",
            "title": "Wrote the river guide",
            "description": "Twelve pages",
            "evidence_url": None,
            "skill_ids": [uuid_text(skill.id)],
            "metadata": {"pages": 12},
        },
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", payload["timestamp"])


async def test_503_three_times_then_delivered_with_the_same_bytes(api, markov, worker):
    markov.fault(status=503, times=3)
    event_id = await _contribute(api, await register(api, "ayu"))
    row = await eventually(lambda: _delivered(api, event_id))
    assert (row.attempts, row.last_status_code) == (4, 200)
    requests = _received(markov, event_id)
    bodies = {request["body_b64"] for request in requests}
    assert [request["status"] for request in requests] == [503, 503, 503, 200]
    assert len(bodies) == 1
    assert {request["headers"]["webhook-id"] for request in requests} == {event_id}


async def test_retry_after_is_honoured(api, markov, worker):
    markov.fault(status=429, times=1, retry_after=2)
    event_id = await _contribute(api, await register(api, "ayu"))
    await eventually(lambda: _delivered(api, event_id))
    first, second = _received(markov, event_id)
    assert first["status"] == 429
    assert second["received_at"] - first["received_at"] >= 2.0


async def test_permanent_failures_dead_letter_after_one_attempt(api, markov, worker):
    account = await register(api, "ayu")
    for status in (400, 401):
        markov.reset()
        markov.fault(status=status, times=-1)
        await api.sql("DELETE FROM webhook_failures")
        await api.sql("DELETE FROM webhook_events")
        event_id = await _contribute(api, account)
        row = await eventually(lambda event_id=event_id: _failed(api, event_id))
        assert (row.attempts, row.last_status_code) == (1, status)
        (failure,) = await api.sql(
            "SELECT status_code, attempts, retryable, next_retry_at FROM webhook_failures"
        )
        assert (failure.status_code, failure.attempts, bool(failure.retryable)) == (
            status,
            1,
            False,
        )
        assert failure.next_retry_at is None
        assert len(_received(markov, event_id)) == 1


async def test_timeouts_five_attempts_then_dead_letter_on_the_slow_lane(api, markov, worker):
    markov.fault(delay=1.5, times=-1)  # longer than WEBHOOK_TIMEOUT_SECONDS=1
    event_id = await _contribute(api, await register(api, "ayu"))
    row = await eventually(lambda: _failed(api, event_id), timeout=40)
    assert row.attempts == 5
    assert row.last_status_code is None
    assert row.error == "timeout after 1 s"
    (failure,) = await api.sql(
        "SELECT attempts, retryable, next_retry_at, created_at FROM webhook_failures"
    )
    assert (failure.attempts, bool(failure.retryable)) == (5, True)
    assert failure.next_retry_at is not None  # retried by itself, minutes later


async def test_replay_of_a_dead_letter_keeps_the_event_id(api, markov, worker):
    from tests.helpers import create_user

    admin = await create_user(api, "root", ["admin"])
    markov.fault(status=422, times=1)
    event_id = await _contribute(api, await register(api, "ayu"))
    await eventually(lambda: _failed(api, event_id))
    listing = await api.gql(
        "{ webhookFailures(first: 5) { edges { node { eventId statusCode retryable } } } }",
        token=admin.token,
    )
    assert listing["webhookFailures"]["edges"] == [
        {"node": {"eventId": event_id, "statusCode": 422, "retryable": False}}
    ]

    replay = """mutation($e: String!) { webhookEventReplay(input: {eventId: $e}) {
      event { eventId status attempts } errors { code } } }"""
    data = await api.gql(replay, {"e": event_id}, admin.token)
    assert data["webhookEventReplay"] == {
        "event": {"eventId": event_id, "status": "PENDING", "attempts": 0},
        "errors": [],
    }
    row = await eventually(lambda: _delivered(api, event_id))
    assert row.attempts == 1
    statuses = [request["status"] for request in _received(markov, event_id)]
    assert statuses == [422, 200]
    again = await api.gql(replay, {"e": event_id}, admin.token)
    assert again["webhookEventReplay"]["errors"] == [{"code": "NOT_FAILED"}]
    assert (await api.sql("SELECT count(*) AS n FROM webhook_failures WHERE replayed_at IS NULL"))[
        0
    ].n == 0


async def test_admin_only_outbox(api, markov, worker):
    ayu = await register(api, "ayu")
    response = await api.post(
        "{ webhookEvents(first: 5) { edges { node { eventId } } } }", token=ayu.token
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    replay = await api.gql(
        'mutation { webhookEventReplay(input: {eventId: "evt_0"}) { errors { code } } }',
        token=ayu.token,
    )
    assert replay["webhookEventReplay"]["errors"] == [{"code": "FORBIDDEN"}]


async def test_cli_replays_every_dead_letter(api, markov, worker, worker_env):
    from tests.e2e.server import cli

    markov.fault(status=410, times=2)
    account = await register(api, "ayu")
    first = await _contribute(api, account)
    await eventually(lambda: _failed(api, first))
    second_response = await api.client.post(
        "/graphql",
        json={"query": CONTRIBUTE, "variables": {"input": CONTRIBUTION}},
        headers={"Authorization": f"Bearer {account.token}"},
    )
    assert second_response.json()["data"]["contributionCreate"]["errors"] == []
    (second,) = [
        row.event_id
        for row in await api.sql(
            "SELECT event_id FROM webhook_events WHERE event_id <> :e", e=first
        )
    ]
    await eventually(lambda: _failed(api, second))

    result = await asyncio.to_thread(cli, "webhooks", "replay", "--all-failed", env=worker_env)
    assert result.returncode == 0, result.stderr
    assert "2 event(s) queued for delivery" in result.stderr
    for event_id in (first, second):
        await eventually(lambda event_id=event_id: _delivered(api, event_id))
    refused = await asyncio.to_thread(cli, "webhooks", "replay", first, env=worker_env)
    assert refused.returncode == 1
    assert f"{first}: the event is DELIVERED, not FAILED" in refused.stderr


async def test_the_worker_serves_health_readiness_and_metrics(api, markov, worker, worker_env):
    base = f"http://127.0.0.1:{worker_env['WORKER_METRICS_PORT']}"
    event_id = await _contribute(api, await register(api, "ayu"))
    await eventually(lambda: _delivered(api, event_id))
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}
        scrape = (await http.get("/metrics")).text
    assert (
        'gotong_webhook_deliveries_total{event_type="contribution_created",outcome="delivered"}'
        in scrape
    )
    assert "gotong_db_pool_connections" in scrape
