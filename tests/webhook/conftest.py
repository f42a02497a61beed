"""Delivery tests: the API (in-process ASGI) enqueues to real Redis, a real `gotong-gql worker`
process delivers to a real `gotong-gql markov-stub` process, over a real database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from gotong_gql.settings import Settings
from tests.conftest import JWT_SECRET, REDIS_TEST_SERVER, Database
from tests.e2e.processes import MarkovStub, Process, start_markov_stub, start_worker
from tests.e2e.server import free_port

T = TypeVar("T")
REDIS_URL = f"{REDIS_TEST_SERVER}/15"
MARKOV_SECRET = "markov-webhook-secret-for-tests-0123456789"
MARKOV_TOKEN = "markov-platform-token-for-tests"
# Fast schedules so that five attempts take seconds; the semantics are those of production.
TIMINGS = {
    "WEBHOOK_TIMEOUT_SECONDS": "1",
    "WEBHOOK_BACKOFF_BASE_SECONDS": "0.2",
    "WEBHOOK_LEASE_SECONDS": "3",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "0.5",
    "WEBHOOK_PENDING_GRACE_SECONDS": "1",
}


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def markov(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarkovStub]:
    log = tmp_path_factory.mktemp("markov") / "markov.log"
    stub = start_markov_stub(
        {"MARKOV_WEBHOOK_SECRET": MARKOV_SECRET, "MARKOV_API_TOKEN": MARKOV_TOKEN}, log
    )
    yield stub
    stub.process.stop()


@pytest.fixture(scope="module")
def worker_env(database: Database, markov: MarkovStub, tmp_path_factory) -> dict[str, str]:
    return {
        "DATABASE_URL": database.url,
        "REDIS_URL": REDIS_URL,
        "MARKOV_BASE_URL": markov.base_url,
        "MARKOV_WEBHOOK_SECRET": MARKOV_SECRET,
        "MARKOV_API_TOKEN": MARKOV_TOKEN,
        "JWT_SECRET": JWT_SECRET,
        "VAR_DIR": str(tmp_path_factory.mktemp("worker-var")),
        "WORKER_METRICS_PORT": str(free_port()),
        **TIMINGS,
    }


@pytest.fixture(scope="module")
def worker(worker_env: dict[str, str], tmp_path_factory, redis_client) -> Iterator[Process]:
    redis_client.flushdb()
    process = start_worker(worker_env, tmp_path_factory.mktemp("worker") / "worker.log")
    yield process
    process.stop()


@pytest.fixture
def settings(worker_env: dict[str, str], tmp_path: Path, markov: MarkovStub, redis_client):
    """The API's settings: the same Redis, Markov and timings as the worker."""
    markov.reset()
    redis_client.flushdb()
    return Settings(
        gotong_env="test",
        database_url=worker_env["DATABASE_URL"],
        redis_url=REDIS_URL,
        markov_base_url=markov.base_url,
        markov_webhook_secret=MARKOV_SECRET,
        markov_api_token=MARKOV_TOKEN,
        jwt_secret=JWT_SECRET,
        var_dir=tmp_path / "var",
        **{key.lower(): float(value) for key, value in TIMINGS.items()},
    )


async def eventually(
    check: Callable[[], Awaitable[T]], timeout: float = 20, interval: float = 0.1
) -> T:
    """Polls until `await check()` is truthy and returns it; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check.__name__}")
        await asyncio.sleep(interval)
