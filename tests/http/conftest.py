"""Fixtures for the endpoint's hardening: apps with other settings, clients from other IPs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from gotong_gql.app import create_app
from gotong_gql.settings import Settings
from tests.conftest import CLIENT_HEADERS, Api, StatementCounter, truncate_all

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
JSON = "application/json; charset=utf-8"


def client_for(app: Any, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=CLIENT_HEADERS
    )


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
def without_blowup(seconds: float = 60.0):
    """Not a speed test (those live in bench/): the documents these tests send cost hours when
    a check walks them exponentially, and well under a second when it is linear, so a bound a
    busy machine never reaches still tells the two apart."""
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s: a check walks the document exponentially?"


def gql_body(query: str, **extra: Any) -> dict[str, Any]:
    return {"query": query, **extra}


def error_code(response: httpx.Response) -> str:
    (error,) = response.json()["errors"]
    return error["extensions"]["code"]


class WebSocketClosed(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class AsgiWebSocket:
    """The client side of a WebSocket, spoken to the ASGI app directly."""

    def __init__(self, to_app: asyncio.Queue, from_app: asyncio.Queue, first: dict) -> None:
        self._to_app, self._from_app = to_app, from_app
        self.accepted = first["type"] == "websocket.accept"
        self.subprotocol = first.get("subprotocol")
        self.close_code = None if self.accepted else first.get("code")

    async def send_json(self, message: dict[str, Any]) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive_json(self, timeout: float = 5) -> dict[str, Any]:
        return json.loads(await self.receive_text(timeout))

    async def receive_text(self, timeout: float = 5) -> str:
        """A message as sent (its exact text)."""
        message = await asyncio.wait_for(self._from_app.get(), timeout)
        if message["type"] == "websocket.close":
            raise WebSocketClosed(message.get("code", 1000))
        return message.get("text") or message["bytes"].decode()


@asynccontextmanager
async def websocket(
    app: Any, headers: dict[str, str] | None = None, path: str = "/graphql", unread: int = 0
) -> AsyncIterator[AsgiWebSocket]:
    """`unread`: at most this many messages wait for the client to read them (0: no limit);
    beyond, the app's sends wait, as with a client that stopped reading."""
    to_app: asyncio.Queue = asyncio.Queue()
    from_app: asyncio.Queue = asyncio.Queue(maxsize=unread)
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 40000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")]
        + [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()],
        "subprotocols": ["graphql-transport-ws"],
    }
    task = asyncio.create_task(app(scope, to_app.get, from_app.put))
    await to_app.put({"type": "websocket.connect"})
    first = await asyncio.wait_for(from_app.get(), 5)
    try:
        yield AsgiWebSocket(to_app, from_app, first)
    finally:
        await to_app.put({"type": "websocket.disconnect", "code": 1000})
        with suppress(Exception):
            await asyncio.wait_for(task, 5)


async def ws_connect(stack: AsyncExitStack, api: Any, token: str, **options: Any) -> AsgiWebSocket:
    """A graphql-transport-ws connection of `token`, acknowledged."""
    ws = await stack.enter_async_context(websocket(api.app, **options))
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await ws.send_json(init)
    assert (await ws.receive_json())["type"] == "connection_ack"
    return ws


async def members_joined(api: Any, members: int) -> None:
    """Until the subscriptions are members of their groups (no message says so)."""
    for _ in range(500):
        groups = api.services.multiplexer.groups.values()
        if sum(len(group.members) for group in groups) == members:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscriptions did not join their groups")
