"""The Markov stub: injected faults, reputation reads (SPEC 5), its counters and health."""

from __future__ import annotations

import time

import httpx
import pytest

from gotong_gql.dev.markov_stub.app import create_stub_app
from tests.dev.markov_stub.stub_requests import (
    ALICE,
    BOB,
    SKILL_A,
    SKILL_B,
    TOKEN,
    WEBHOOK,
    contribution,
    evidence,
    fields,
    log,
    reputation,
    send,
    stats,
    stub_client,
    vouch,
)


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
