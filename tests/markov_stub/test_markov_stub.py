"""The Markov Engine stub, over ASGI: signatures, SPEC 4 validation, faults, reputation, stats."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gotong_gql.markov_stub import create_stub_app

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


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with stub_client(previous_secret=PREVIOUS, api_token=TOKEN) as client:
        yield client


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


@pytest.mark.parametrize("make", [contribution, vouch, evidence])
async def test_a_valid_event_is_accepted_then_a_repeat_is_a_duplicate(
    client: httpx.AsyncClient, make: Callable[[], dict]
) -> None:
    payload = make()
    first = await send(client, payload)
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "accepted", "event_id": payload["event_id"]}

    again = await send(client, payload)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "event_id": payload["event_id"]}

    entries = await log(client)
    assert [(e["status"], e["event_id"], e["duplicate"]) for e in entries] == [
        (200, payload["event_id"], False),
        (200, payload["event_id"], True),
    ]
    assert base64.b64decode(entries[0]["body_b64"]) == serialise(payload)
    assert entries[0]["payload"] == payload
    assert entries[0]["headers"]["x-request-id"] == payload["request_id"]
    assert entries[0]["headers"]["user-agent"] == "GotongRoyong/0.1.0"
    assert entries[0]["received_at"] <= entries[1]["received_at"] <= time.time()
    assert await stats(client) == {
        "webhook_requests": 2,
        "accepted": 1,
        "duplicates": 1,
        "rejected": 0,
        "reputation_requests": 0,
    }


async def test_values_at_the_limits_are_accepted(client: httpx.AsyncClient) -> None:
    payload = contribution(skill_ids=[f"skill-{i}" for i in range(10)])
    payload["subject"] |= {"title": "t" * 200, "description": "d" * 2000}
    payload["subject"]["metadata"] = {f"k{i}": i for i in range(50)}
    assert (await send(client, payload)).status_code == 200
    payload = vouch()
    payload["subject"] |= {"message": "m" * 500, "weight_hint": None}
    del payload["subject"]["skill_id"]
    assert (await send(client, payload)).status_code == 200
    payload = evidence()
    payload["proof"] = {"timestamp": "2026-02-09T10:30:00Z", "location": {"lat": 90, "lon": -180}}
    assert (await send(client, payload)).status_code == 200


async def test_accepted_events_are_logged_without_body_or_signature(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    payload = contribution()
    with caplog.at_level(logging.INFO, logger="gotong_gql.markov_stub"):
        await send(client, payload)
    text = caplog.text
    assert payload["event_id"] in text and "contribution_created" in text
    assert payload["subject"]["title"] not in text
    assert "sha256=" not in text and "v1," not in text


# Signatures --------------------------------------------------------------------------------------


async def assert_rejected(client: httpx.AsyncClient, response: httpx.Response, field: str) -> None:
    assert response.status_code == 401, response.text
    assert field in fields(response)
    counters = await stats(client)
    assert counters["rejected"] == 1 and counters["accepted"] == 0
    assert [entry["status"] for entry in await log(client)] == [401]


async def test_a_bad_x_gr_signature_is_refused(client: httpx.AsyncClient) -> None:
    payload = contribution()
    wrong = gr_signature("another-secret", serialise(payload))
    response = await send(client, payload, **{"X-GR-Signature": wrong})
    await assert_rejected(client, response, "headers.x-gr-signature")
    assert fields(response) == {"headers.x-gr-signature"}


async def test_a_bad_webhook_signature_is_refused(client: httpx.AsyncClient) -> None:
    payload = contribution()
    body = serialise(payload)
    wrong = standard_signature(SECRET, "msg_other", int(time.time()), body)
    response = await send(client, payload, **{"webhook-signature": wrong})
    await assert_rejected(client, response, "headers.webhook-signature")
    assert fields(response) == {"headers.webhook-signature"}


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("X-GR-Signature", "headers.x-gr-signature"),
        ("webhook-signature", "headers.webhook-signature"),
        ("webhook-id", "headers.webhook-id"),
        ("webhook-timestamp", "headers.webhook-timestamp"),
    ],
)
async def test_a_missing_signature_header_is_refused(
    client: httpx.AsyncClient, header: str, field: str
) -> None:
    payload = contribution()
    body = serialise(payload)
    headers = signed_headers(body, payload["request_id"])
    del headers[header]
    response = await client.post(WEBHOOK, content=body, headers=headers)
    await assert_rejected(client, response, field)


async def test_a_tampered_body_is_refused(client: httpx.AsyncClient) -> None:
    payload = contribution()
    headers = signed_headers(serialise(payload), payload["request_id"])
    payload["subject"]["title"] = "Changed"
    response = await client.post(WEBHOOK, content=serialise(payload), headers=headers)
    assert response.status_code == 401
    assert fields(response) == {"headers.x-gr-signature", "headers.webhook-signature"}


async def test_the_previous_secret_is_accepted_when_set(client: httpx.AsyncClient) -> None:
    response = await send(client, contribution(), secret=PREVIOUS)
    assert response.json()["status"] == "accepted"
    async with stub_client() as without_previous:
        response = await send(without_previous, contribution(), secret=PREVIOUS)
        assert response.status_code == 401


async def test_one_matching_signature_among_several_is_enough(client: httpx.AsyncClient) -> None:
    payload = contribution()
    body = serialise(payload)
    now = int(time.time())
    headers = signed_headers(body, payload["request_id"], timestamp=now)
    right = headers["webhook-signature"]
    wrong = standard_signature("not-the-secret", headers["webhook-id"], now, body)
    headers["webhook-signature"] = f"{wrong} v1a,ignored {right}"
    response = await client.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"


@pytest.mark.parametrize("skew", [-301, -3600, 301])
async def test_a_webhook_timestamp_over_five_minutes_off_is_refused(
    client: httpx.AsyncClient, skew: int
) -> None:
    response = await send(client, contribution(), timestamp=int(time.time()) + skew)
    await assert_rejected(client, response, "headers.webhook-timestamp")


async def test_a_body_over_one_mebibyte_is_refused(client: httpx.AsyncClient) -> None:
    payload = contribution()
    payload["subject"]["metadata"] = {"padding": "x" * (1024 * 1024)}
    response = await send(client, payload)
    assert response.status_code == 413
    assert (await stats(client))["rejected"] == 1


# Payload validation ------------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def mutate(payload: dict) -> None:
        *parents, key = path.split(".")
        target = payload
        for part in parents:
            target = target[part]
        target[key] = value

    return mutate


def _drop(path: str) -> Callable[[dict], None]:
    def mutate(payload: dict) -> None:
        parent, _, key = path.rpartition(".")
        target = payload
        for part in filter(None, parent.split(".")):
            target = target[part]
        del target[key]

    return mutate


INVALID = [
    (contribution, _set("event_id", "evt_0123456789ABCDEF"), "event_id"),
    (contribution, _set("event_id", "evt_123"), "event_id"),
    (contribution, _set("event_type", "task_created"), "event_type"),
    (contribution, _set("schema_version", 1), "schema_version"),
    (contribution, _set("request_id", ""), "request_id"),
    (contribution, _set("timestamp", "2026-02-09T10:30:00"), "timestamp"),
    (contribution, _set("timestamp", "2026-02-09"), "timestamp"),
    (contribution, _set("timestamp", 1770633000), "timestamp"),
    (contribution, _set("actor.user_id", f"gotong_royong:{ALICE}"), "actor.user_id"),
    (contribution, _drop("actor.username"), "actor.username"),
    (contribution, _set("extra", True), "extra"),
    (contribution, _set("subject.contribution_type", "gardening"), "subject.contribution_type"),
    (contribution, _set("subject.title", ""), "subject.title"),
    (contribution, _set("subject.title", "t" * 201), "subject.title"),
    (contribution, _set("subject.description", "d" * 2001), "subject.description"),
    (contribution, _set("subject.evidence_url", 5), "subject.evidence_url"),
    (contribution, _set("subject.skill_ids", [str(i) for i in range(11)]), "subject.skill_ids"),
    (contribution, _set("subject.skill_ids", ["ok", 7]), "subject.skill_ids[1]"),
    (
        contribution,
        _set("subject.metadata", {f"k{i}": i for i in range(51)}),
        "subject.metadata",
    ),
    (contribution, _set("proof", {"timestamp": "2026-02-09T10:30:00Z"}), "proof"),
    (vouch, _set("subject.message", "m" * 501), "subject.message"),
    (vouch, _set("subject.weight_hint", "heavy"), "subject.weight_hint"),
    (vouch, _drop("subject.vouchee_id"), "subject.vouchee_id"),
    (evidence, _set("subject.evidence_type", "selfie"), "subject.evidence_type"),
    (evidence, _set("subject.evidence_data", "photo"), "subject.evidence_data"),
    (evidence, _drop("proof"), "proof"),
    (evidence, _set("proof.location.lat", 95), "proof.location.lat"),
    (evidence, _set("proof.location.lon", -180.5), "proof.location.lon"),
    (evidence, _set("proof.location.lat", True), "proof.location.lat"),
    (evidence, _set("proof.timestamp", "09/02/2026 10:30"), "proof.timestamp"),
    (evidence, _set("proof.media_hash", "abc123"), "proof.media_hash"),
    (evidence, _set("proof.media_hash", "g" * 64), "proof.media_hash"),
    (evidence, _set("proof.witnesses", [{"witness_name": ""}]), "proof.witnesses[0].witness_name"),
    (
        evidence,
        _set("proof.witnesses", [{"witness_name": "Siti"}] * 11),
        "proof.witnesses",
    ),
]


@pytest.mark.parametrize(("make", "mutate", "field"), INVALID)
async def test_an_invalid_payload_is_refused_naming_the_field(
    client: httpx.AsyncClient, make: Callable[[], dict], mutate: Callable, field: str
) -> None:
    payload = make()
    mutate(payload)
    response = await send(client, payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid payload"
    assert fields(response) == {field}
    assert all(error["reason"] for error in response.json()["errors"])
    counters = await stats(client)
    assert (counters["rejected"], counters["accepted"]) == (1, 0)
    (entry,) = await log(client)
    assert (entry["status"], entry["payload"]) == (422, None)


@pytest.mark.parametrize(
    ("header", "value", "field"),
    [
        ("X-Request-ID", "req_something_else", "request_id"),
        ("User-Agent", "python-httpx/0.28", "headers.user-agent"),
        ("Content-Type", "text/plain", "headers.content-type"),
    ],
)
async def test_headers_must_match_the_contract(
    client: httpx.AsyncClient, header: str, value: str, field: str
) -> None:
    response = await send(client, contribution(), **{header: value})
    assert response.status_code == 422, response.text
    assert fields(response) == {field}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"lat": NaN}', b"\xff\xfe"])
async def test_a_body_that_is_not_a_json_object_is_refused(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(WEBHOOK, content=body, headers=signed_headers(body, "req_1"))
    assert response.status_code == 422, response.text
    assert "body" in fields(response)


# Faults ------------------------------------------------------------------------------------------


async def test_a_status_fault_answers_that_status_then_stops(client: httpx.AsyncClient) -> None:
    fault = {"status": 503, "times": 3, "retry_after": 2}
    assert (await client.post("/_stub/faults", json=fault)).status_code == 200
    payload = contribution()
    for _ in range(3):
        response = await send(client, payload)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
    response = await send(client, payload)
    assert response.json() == {"status": "accepted", "event_id": payload["event_id"]}
    assert [entry["status"] for entry in await log(client)] == [503, 503, 503, 200]
    assert await stats(client) == {
        "webhook_requests": 4,
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
        "reputation_requests": 0,
    }


async def test_a_fault_comes_before_any_verification(client: httpx.AsyncClient) -> None:
    await client.post("/_stub/faults", json={"status": 429})
    response = await client.post(WEBHOOK, content=b"unsigned")
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert (await client.post(WEBHOOK, content=b"unsigned")).status_code == 401


async def test_an_endless_fault_lasts_until_cleared(client: httpx.AsyncClient) -> None:
    await client.post("/_stub/faults", json={"status": 500, "times": -1})
    for _ in range(5):
        assert (await send(client, contribution())).status_code == 500
    cleared = await client.delete("/_stub/faults")
    assert cleared.json()["webhook"]["times"] == 0
    assert (await send(client, contribution())).status_code == 200


async def test_a_delay_fault_delays_then_processes_normally(client: httpx.AsyncClient) -> None:
    await client.post("/_stub/faults", json={"delay": 0.3, "times": 1})
    started = time.monotonic()
    response = await send(client, contribution())
    assert time.monotonic() - started >= 0.3
    assert response.json()["status"] == "accepted"
    started = time.monotonic()
    await send(client, contribution())
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    "fault",
    [
        {"times": 2},
        {"status": "503"},
        {"status": 99},
        {"status": 503, "times": -2},
        {"delay": -1},
        {"status": 503, "colour": "red"},
    ],
)
async def test_an_invalid_fault_is_refused(client: httpx.AsyncClient, fault: dict) -> None:
    response = await client.post("/_stub/faults", json=fault)
    assert response.status_code == 422, response.text
    assert (await send(client, contribution())).status_code == 200


# Reputation --------------------------------------------------------------------------------------


async def test_reputation_is_computed_from_accepted_events(client: httpx.AsyncClient) -> None:
    first = contribution(skill_ids=[SKILL_A, SKILL_B, SKILL_A])
    for payload in [
        first,
        first,  # a duplicate counts once
        contribution(skill_ids=[SKILL_A]),
        vouch(ALICE, SKILL_A),
        vouch(ALICE),
        evidence(),
        contribution(BOB, [SKILL_B]),  # someone else's work
        vouch(BOB, SKILL_B, voucher=ALICE),  # a vouch Alice gave
    ]:
        assert (await send(client, payload)).status_code == 200
    refused = contribution(skill_ids=[SKILL_B])
    assert (await send(client, refused, secret="wrong")).status_code == 401

    response = await reputation(client, ALICE)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": f"gotong_royong:{ALICE}",
        "reputation_score": 0.32,  # 0.1 * 2 + 0.05 * 2 + 0.02 * 1
        "tier": "contributor",
        "contributions_count": 2,
        "vouches_received": 2,
        "skills": [
            {"skill_id": SKILL_A, "competence": 0.6},
            {"skill_id": SKILL_B, "competence": 0.2},
        ],
    }
    bob = (await reputation(client, BOB)).json()
    assert (bob["reputation_score"], bob["tier"], bob["vouches_received"]) == (0.15, "newcomer", 1)
    assert bob["skills"] == [{"skill_id": SKILL_B, "competence": 0.4}]


# After n contributions of one skill: (score, tier, competence). Tier floors: 0.2, 0.5, 0.8.
LADDER = [
    (0.1, "newcomer", 0.2),
    (0.2, "contributor", 0.4),
    (0.3, "contributor", 0.6),
    (0.4, "contributor", 0.8),
    (0.5, "trusted", 1.0),
    (0.6, "trusted", 1.0),
    (0.7, "trusted", 1.0),
    (0.8, "steward", 1.0),
    (0.9, "steward", 1.0),
    (1.0, "steward", 1.0),
    (1.0, "steward", 1.0),
]


async def test_reputation_is_rounded_capped_and_tiered(client: httpx.AsyncClient) -> None:
    for score, tier, competence in LADDER:
        await send(client, contribution(skill_ids=[SKILL_A]))
        body = (await reputation(client, ALICE)).json()
        assert (body["reputation_score"], body["tier"]) == (score, tier)
        assert body["skills"] == [{"skill_id": SKILL_A, "competence": competence}]


async def test_an_unknown_user_has_a_newcomer_reputation(client: httpx.AsyncClient) -> None:
    response = await reputation(client, "99999999-9999-4999-8999-999999999999")
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "gotong_royong:99999999-9999-4999-8999-999999999999",
        "reputation_score": 0.0,
        "tier": "newcomer",
        "contributions_count": 0,
        "vouches_received": 0,
        "skills": [],
    }


@pytest.mark.parametrize("markov_user_id", [ALICE, f"other_platform:{ALICE}", "gotong_royong:x"])
async def test_a_malformed_markov_user_id_is_not_found(
    client: httpx.AsyncClient, markov_user_id: str
) -> None:
    response = await client.get(
        f"/api/v1/users/{markov_user_id}/reputation", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_reputation_needs_the_bearer_token_when_one_is_set(
    client: httpx.AsyncClient, token: str | None
) -> None:
    response = await reputation(client, ALICE, token)
    assert response.status_code == 401
    assert fields(response) == {"headers.authorization"}
    assert (await stats(client))["reputation_requests"] == 1


async def test_reputation_without_a_token_configured_needs_none() -> None:
    async with stub_client() as client:
        await send(client, contribution())
        response = await reputation(client, ALICE, token=None)
        assert response.status_code == 200
        assert response.json()["contributions_count"] == 1


async def test_a_reputation_fault_fails_only_reputation(client: httpx.AsyncClient) -> None:
    fault = {"reputation_status": 503, "reputation_times": -1}
    faults = (await client.post("/_stub/faults", json=fault)).json()
    assert faults["reputation"]["status"] == 503 and faults["webhook"]["times"] == 0
    for _ in range(3):
        assert (await reputation(client, ALICE)).status_code == 503
    assert (await send(client, contribution())).status_code == 200
    await client.delete("/_stub/faults")
    assert (await reputation(client, ALICE)).json()["contributions_count"] == 1
    assert (await stats(client))["reputation_requests"] == 4


# Stats and reset ---------------------------------------------------------------------------------


async def test_stats_count_every_outcome_and_reset_forgets_everything(
    client: httpx.AsyncClient,
) -> None:
    payload = contribution()
    await send(client, payload)  # accepted
    await send(client, payload)  # duplicate
    await send(client, contribution(), secret="wrong")  # 401
    bad = contribution()
    bad["subject"]["title"] = ""
    await send(client, bad)  # 422
    await client.post("/_stub/faults", json={"status": 502})
    await send(client, contribution())  # injected fault
    await reputation(client, ALICE)
    await reputation(client, ALICE, token=None)
    assert await stats(client) == {
        "webhook_requests": 5,
        "accepted": 1,
        "duplicates": 1,
        "rejected": 2,
        "reputation_requests": 2,
    }
    await client.post("/_stub/faults", json={"status": 503, "times": -1})

    assert (await client.post("/_stub/reset")).status_code == 200
    assert set((await stats(client)).values()) == {0}
    assert await log(client) == []
    assert (await send(client, payload)).json()["status"] == "accepted"  # dedup set forgotten


async def test_healthz() -> None:
    async with stub_client() as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        create_stub_app("")
