"""Password guessing is capped however fast it is sent: each tokenCreate is charged to its IP's
and its account's windows, atomically, before the password is checked; a right password is given
back. The account's window is the account's, whichever of its logins (username, email) is used.
Concurrent requests against the in-process limiter, and against a real `gotong-gql serve
--workers 2` (two processes) on Redis."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import httpx
import pytest
import redis as sync_redis
import redis.asyncio as redis

from tests.conftest import (
    CLIENT_HEADERS,
    JWT_SECRET,
    REDIS_TEST_SERVER,
    create_database,
    drop_database,
)
from tests.e2e.processes import Process
from tests.e2e.server import cli, free_port
from tests.helpers import PASSWORD, REGISTER, register
from tests.http.conftest import client_for
from tests.http.test_rate_limits import assert_429, login_body, payload_code

REDIS_URL = f"{REDIS_TEST_SERVER}/12"


def outcome(response: httpx.Response) -> str:
    if response.status_code == 429:
        assert_429(response, None)
        return "RATE_LIMITED"
    assert response.status_code == 200, response.text
    return payload_code(response) or "OK"


async def fire(client: httpx.AsyncClient, bodies: list[dict]) -> list[httpx.Response]:
    """All at once: every request is in flight before the first password check ends."""
    return await asyncio.gather(*(client.post("/graphql", json=body) for body in bodies))


async def test_16_parallel_wrong_passwords_get_10_checks(api):
    await register(api, "ayu")
    guesses = [login_body("ayu", f"guess-{attempt}") for attempt in range(16)]
    responses = await fire(api.client, guesses)
    assert Counter(map(outcome, responses)) == {"INVALID_CREDENTIALS": 10, "RATE_LIMITED": 6}
    for response in responses:
        if response.status_code == 429:
            assert response.headers["x-ratelimit-limit"] == "10"
    assert outcome(await api.client.post("/graphql", json=login_body("ayu", PASSWORD))) == (
        "RATE_LIMITED"
    )


async def test_the_ip_window_is_charged_before_the_check_too(make_api):
    api = await make_api(rate_limit_login_ip="5/15 minutes")
    guesses = [login_body(f"user{index}@example.org", "password123") for index in range(8)]
    async with client_for(api.app, "192.0.2.80") as client:
        responses = await fire(client, guesses)
    assert Counter(map(outcome, responses)) == {"INVALID_CREDENTIALS": 5, "RATE_LIMITED": 3}
    for response in responses:
        if response.status_code == 429:
            assert response.headers["x-ratelimit-limit"] == "5"


async def test_a_username_and_its_email_share_the_accounts_window(api, clients):
    await register(api, "ayu")
    await register(api, "budi")
    logins = ["ayu", " AYU@example.org ", "Ayu", "ayu@example.org"]
    outcomes = []
    for attempt in range(12):
        client = clients(f"198.51.100.{attempt + 1}")
        with api.statements as counter:
            response = await client.post(
                "/graphql", json=login_body(logins[attempt % 4], f"guess-{attempt}")
            )
        outcomes.append(outcome(response))
        if response.status_code == 429:
            assert response.headers["x-ratelimit-limit"] == "10"
            assert counter.count == 1  # the account's id is looked up; no password is checked
    assert outcomes == ["INVALID_CREDENTIALS"] * 10 + ["RATE_LIMITED"] * 2
    budi = await clients("198.51.100.99").post("/graphql", json=login_body("budi", PASSWORD))
    assert outcome(budi) == "OK"


async def test_a_right_password_is_given_back(api, clients):
    """Under the limit, the owner's right password works and costs nothing: nine guesses, a
    login, and the window still holds one more guess."""
    await register(api, "ayu")
    client = clients("198.51.100.60")
    for attempt in range(9):
        assert outcome(await client.post("/graphql", json=login_body("ayu", f"g{attempt}"))) == (
            "INVALID_CREDENTIALS"
        )
    assert outcome(await client.post("/graphql", json=login_body("ayu@example.org", PASSWORD))) == (
        "OK"
    )
    assert outcome(await client.post("/graphql", json=login_body("ayu", "g9"))) == (
        "INVALID_CREDENTIALS"
    )
    assert outcome(await client.post("/graphql", json=login_body("ayu", PASSWORD))) == (
        "RATE_LIMITED"
    )


@pytest.fixture(scope="module")
def server_on_redis(tmp_path_factory):
    """`gotong-gql serve --workers 2`: two processes, one Redis limiter (the test flushes its
    database first)."""
    try:
        sync_redis.Redis.from_url(REDIS_URL).ping()
    except (OSError, sync_redis.RedisError):
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is required with CI=true")
        pytest.skip("Redis is not reachable")
    tmp = tmp_path_factory.mktemp("login-limits")
    database = create_database(tmp)
    env = {
        "DATABASE_URL": database.url,
        "JWT_SECRET": JWT_SECRET,
        "REDIS_URL": REDIS_URL,
        "VAR_DIR": str(tmp / "var"),
        "GOTONG_ENV": "development",
    }
    assert cli("migrate", env=env).returncode == 0
    port = free_port()
    server = Process(["serve", "--port", str(port), "--workers", "2"], env, tmp / "serve.log")
    try:
        server.start(ready="Started parent process")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp / "serve.log").read_text()
            time.sleep(0.1)
        yield base
    finally:
        server.stop()
        drop_database(database)


async def test_a_real_server_with_two_processes_caps_parallel_guesses(server_on_redis):
    flush = redis.Redis.from_url(REDIS_URL)
    await flush.flushdb()
    await flush.aclose()
    variables = {"input": {"username": "ayu", "email": "ayu@example.org", "password": PASSWORD}}
    async with httpx.AsyncClient(
        base_url=server_on_redis, timeout=60, headers=CLIENT_HEADERS
    ) as client:
        registered = await client.post("/graphql", json={"query": REGISTER, "variables": variables})
        assert registered.json()["data"]["accountRegister"]["errors"] == []
        guesses = [
            login_body("ayu" if attempt % 2 else "AYU@example.org", f"guess-{attempt}")
            for attempt in range(16)
        ]
        responses = await fire(client, guesses)
        assert Counter(map(outcome, responses)) == {"INVALID_CREDENTIALS": 10, "RATE_LIMITED": 6}
