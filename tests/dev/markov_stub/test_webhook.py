"""The Markov stub's webhook endpoint, over ASGI: acceptance, signatures, SPEC 4 validation."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.dev.markov_stub.stub_requests import (
    ALICE,
    PREVIOUS,
    SECRET,
    WEBHOOK,
    contribution,
    evidence,
    fields,
    gr_signature,
    log,
    send,
    serialise,
    signed_headers,
    standard_signature,
    stats,
    stub_client,
    vouch,
)


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
    with caplog.at_level(logging.INFO, logger="gotong_gql.dev.markov_stub"):
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
