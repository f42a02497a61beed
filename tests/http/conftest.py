"""Fixtures for the endpoint's hardening: apps with other settings, clients from other IPs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from gotong_gql.app import create_app
from gotong_gql.settings import Settings
from tests.conftest import Api, StatementCounter, truncate_all

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
JSON = "application/json; charset=utf-8"


def client_for(app: Any, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def make_api(settings: Settings) -> AsyncIterator[Callable[..., Any]]:
    """Start another app on the test database, with some settings changed."""
    async with AsyncExitStack() as stack:
        engines = []

        async def make(**overrides: Any) -> Api:
            app = create_app(settings.model_copy(update=overrides))
            await stack.enter_async_context(app.router.lifespan_context(app))
            counter = StatementCounter()
            engine = app.state.services.engine
            event.listen(engine.sync_engine, "before_cursor_execute", counter)
            engines.append(engine)
            client = await stack.enter_async_context(client_for(app))
            return Api(client=client, app=app, statements=counter)

        try:
            yield make
        finally:
            if engines:
                await truncate_all(engines[0])


@pytest.fixture
async def clients(api: Api) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """httpx clients to the `api` app that come from a given IP address."""
    async with AsyncExitStack() as stack:
        made: dict[str, httpx.AsyncClient] = {}

        def client(ip: str) -> httpx.AsyncClient:
            if ip not in made:
                made[ip] = client_for(api.app, ip)
                stack.push_async_callback(made[ip].aclose)
            return made[ip]

        yield client


@contextmanager
def quickly(seconds: float = 1.0):
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s"


def gql_body(query: str, **extra: Any) -> dict[str, Any]:
    return {"query": query, **extra}


def error_code(response: httpx.Response) -> str:
    (error,) = response.json()["errors"]
    return error["extensions"]["code"]
