"""Rate limits (ratelimit.py, graphql/limits/): by query cost per user and per IP, and
against password guessing per login and per IP."""

from __future__ import annotations

import logging
import os
import time

import pytest
import redis.asyncio as redis

from gotong_gql.ratelimit import RateLimiter, client_key
from tests.conftest import REDIS_TEST_SERVER
from tests.helpers import LOGIN, PASSWORD, REGISTER, register
from tests.http.conftest import GRAPHQL_RESPONSE, JSON, client_for

REDIS_URL = f"{REDIS_TEST_SERVER}/12"
COSTLY = """{ users(first: 100) { edges { node {
  tasksCreated(first: 3) { edges { node { id } } } } } } }"""  # 400 nodes: 5 points


def login_body(login: str, password: str) -> dict:
    return {"query": LOGIN, "variables": {"login": login, "password": password}}


def assert_429(response, limit: int | None, accept_json: bool = False) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == (JSON if accept_json else GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    retry_after = int(response.headers["retry-after"])
    assert error["extensions"]["retryAfter"] == retry_after
    assert 1 <= retry_after <= 3600
    if limit is not None:
        assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) >= time.time()


def payload_code(response) -> str | None:
    errors = response.json()["data"]["tokenCreate"]["errors"]
    return errors[0]["code"] if errors else None


async def test_queries_are_charged_by_cost_to_the_user(make_api):
    api = await make_api(rate_limit_user="10/minute")
    ayu = await register(api, "ayu")
    first = await api.post("{ me { id } }", token=ayu.token)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit"] == "10"
    assert first.headers["x-ratelimit-remaining"] == "9"
    assert 0 < int(first.headers["x-ratelimit-reset"]) - time.time() <= 61
    costly = await api.post(COSTLY, token=ayu.token)
    assert costly.json()["extensions"]["cost"] == {"nodes": 400, "maxNodes": 5000, "points": 5}
    assert costly.headers["x-ratelimit-remaining"] == "4"
    with api.statements as counter:
        refused = await api.post(COSTLY, token=ayu.token)
    assert_429(refused, 10)
    assert counter.count == 0
    legacy = await api.client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"Authorization": f"Bearer {ayu.token}", "Accept": "application/json"},
    )
    assert_429(legacy, 10, accept_json=True)  # 429 whatever the media type
    budi = await register(api, "budi")  # every user has a window of their own
    assert (await api.post("{ me { id } }", token=budi.token)).status_code == 200


async def test_anonymous_requests_are_charged_to_the_ip(make_api):
    api = await make_api(rate_limit_ip="3/minute")
    ayu = await register(api, "ayu")  # from 127.0.0.1, whose window this uses up
    near, far = client_for(api.app, "203.0.113.7"), client_for(api.app, "203.0.113.8")
    async with near, far:
        for _ in range(3):
            assert (await near.post("/graphql", json={"query": "{ __typename }"})).is_success
        assert_429(await near.post("/graphql", json={"query": "{ __typename }"}), 3)
        assert (await far.post("/graphql", json={"query": "{ __typename }"})).is_success
        # A signed-in user behind the same address (a carrier NAT) has a window of their own.
        signed_in = await near.post(
            "/graphql",
            json={"query": "{ me { username } }"},
            headers={"Authorization": f"Bearer {ayu.token}"},
        )
        assert signed_in.json()["data"] == {"me": {"username": "ayu"}}


async def test_requests_refused_before_execution_cost_a_point(make_api):
    api = await make_api(rate_limit_ip="3/minute")
    client = client_for(api.app, "203.0.113.9")
    async with client:
        for query in (
            "{ broken",
            "{ nosuchfield }",
            "query A { __typename } query B { me { id } }",
        ):
            response = await client.post("/graphql", json={"query": query})
            assert response.status_code == 400
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert_429(await client.post("/graphql", json={"query": "{ __typename }"}), 3)


def test_ipv6_clients_are_counted_by_their_64():
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:198.51.100.4") == "198.51.100.4"
    assert client_key("198.51.100.4") == "198.51.100.4"
    assert client_key(None) == "unknown"


async def test_30_wrong_passwords_for_one_account_from_rotating_ips(api, clients):
    await register(api, "ayu")
    await register(api, "budi")
    outcomes = []
    for attempt in range(30):
        client = clients(f"198.51.100.{attempt + 1}")
        with api.statements as counter:
            response = await client.post("/graphql", json=login_body("ayu", f"guess-{attempt}"))
        if response.status_code == 200:
            outcomes.append(payload_code(response))
        else:
            assert_429(response, 10)
            assert counter.count == 1  # the account's id is looked up; no password is checked
            outcomes.append("429")
    assert outcomes == ["INVALID_CREDENTIALS"] * 10 + ["429"] * 20
    # Locked for this window, whatever the spelling of the login and whoever asks.
    for login in ("ayu", " AYU "):
        locked = await clients("198.51.100.200").post("/graphql", json=login_body(login, PASSWORD))
        assert_429(locked, 10)
    # A different account is untouched: its right password works.
    other = await clients("198.51.100.201").post("/graphql", json=login_body("budi", PASSWORD))
    assert payload_code(other) is None
    assert other.json()["data"]["tokenCreate"]["accessToken"]


async def test_300_wrong_passwords_from_one_ip_against_many_accounts(api, clients):
    await register(api, "citra")
    attacker = clients("192.0.2.66")
    outcomes = []
    for attempt in range(300):
        response = await attacker.post(
            "/graphql", json=login_body(f"user{attempt}@example.org", "password123")
        )
        if response.status_code == 200:
            outcomes.append(payload_code(response))
        else:
            assert_429(response, 100)
            outcomes.append("429")
    assert outcomes == ["INVALID_CREDENTIALS"] * 100 + ["429"] * 200
    # The address is blocked, even with a right password (by now its 300 queries a minute are
    # used up too) ...
    assert_429(await attacker.post("/graphql", json=login_body("citra", PASSWORD)), None)
    # ... and citra, untouched, logs in from anywhere else.
    response = await clients("192.0.2.67").post("/graphql", json=login_body("citra", PASSWORD))
    assert payload_code(response) is None
    assert response.json()["data"]["tokenCreate"]["accessToken"]


async def test_successful_logins_are_not_counted(api, clients):
    await register(api, "ayu")
    client = clients("198.51.100.50")
    for _ in range(12):
        response = await client.post("/graphql", json=login_body("ayu@example.org", PASSWORD))
        assert payload_code(response) is None


async def test_a_login_whose_tokens_are_not_selected_counts_as_a_failure(api, clients):
    """Only a payload with tokens shows a success: nothing an attacker can fake."""
    await register(api, "ayu")
    client = clients("198.51.100.51")
    query = 'mutation { tokenCreate(input: {login: "ayu", password: "%s"}) { __typename } }'
    for _ in range(10):
        response = await client.post("/graphql", json={"query": query % PASSWORD})
        assert response.status_code == 200
    assert_429(await client.post("/graphql", json={"query": query % PASSWORD}), 10)


async def test_registrations_are_limited_per_ip_and_per_email(api, clients):
    spammer = clients("192.0.2.10")
    for index in range(20):
        variables = {
            "input": {
                "username": f"spam{index}",
                "email": f"spam{index}@example.org",
                "password": PASSWORD,
            }
        }
        response = await spammer.post("/graphql", json={"query": REGISTER, "variables": variables})
        assert response.json()["data"]["accountRegister"]["errors"] == []
    variables = {
        "input": {"username": "spam20", "email": "spam20@example.org", "password": PASSWORD}
    }
    with api.statements as counter:
        refused = await spammer.post("/graphql", json={"query": REGISTER, "variables": variables})
    assert_429(refused, 20)
    assert counter.count == 0
    assert await api.sql("SELECT id FROM users WHERE username = 'spam20'") == []
    # The same email, tried from many addresses: 5 an hour.
    outcomes = []
    for index in range(6):
        variables = {
            "input": {
                "username": f"xuser{index}",
                "email": "taken@example.org",
                "password": PASSWORD,
            }
        }
        response = await clients(f"192.0.2.{100 + index}").post(
            "/graphql", json={"query": REGISTER, "variables": variables}
        )
        if response.status_code == 429:
            outcomes.append("429")
        else:
            errors = response.json()["data"]["accountRegister"]["errors"]
            outcomes.append(errors[0]["code"] if errors else "ok")
    assert outcomes == ["ok"] + ["EMAIL_TAKEN"] * 4 + ["429"]


@pytest.fixture
async def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError):
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is required with CI=true")
        pytest.skip("Redis is not reachable")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_api_processes_share_their_limits_through_redis(make_api, redis_db):
    one = await make_api(redis_url=REDIS_URL)
    two = await make_api(redis_url=REDIS_URL)
    await register(one, "ayu")
    for attempt in range(10):
        api = (one, two)[attempt % 2]
        response = await api.client.post("/graphql", json=login_body("ayu", f"guess-{attempt}"))
        assert payload_code(response) == "INVALID_CREDENTIALS"
    assert_429(await one.client.post("/graphql", json=login_body("ayu", PASSWORD)), 10)
    assert_429(await two.client.post("/graphql", json=login_body("ayu", PASSWORD)), 10)
    keys = [key.decode() for key in await redis_db.keys("gotong:ratelimit*")]
    assert keys and not any("ayu" in key for key in keys)  # no logins in Redis, only hashes


async def test_an_unreachable_redis_fails_open(caplog):
    limiter = RateLimiter("redis://127.0.0.1:1/0")
    from limits import parse

    with caplog.at_level(logging.WARNING, logger="gotong_gql.ratelimit"):
        decision = await limiter.hit(parse("1/minute"), "query", "ip", "192.0.2.1", cost=5)
    await limiter.close()
    assert decision.allowed
    assert "rate limiter unavailable, request allowed" in caplog.text


async def test_rate_limits_can_be_turned_off(make_api):
    api = await make_api(rate_limit_enabled=False, rate_limit_ip="1/minute")
    for _ in range(3):
        response = await api.client.post("/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers
