"""SIGTERM to `gotong-gql serve` holding live subscriptions, connections it closed itself
(4403, 4408, 4409) whose clients never answered, a half-closed connection, an SSE stream, a
request in flight and a request that never finishes: the process exits within
SHUTDOWN_TIMEOUT_SECONDS, the subscribers get 1001, the request in flight its answer."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import time

import httpx
import pytest
import websockets

from tests.concurrency.remote import ROOT_PASSWORD, running_server
from tests.helpers import LOGIN

pytestmark = pytest.mark.slow

BOUND = 3  # SHUTDOWN_TIMEOUT_SECONDS of this server
SUBSCRIBE = {"query": "subscription { taskEvents { type } }"}


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path, SHUTDOWN_TIMEOUT_SECONDS=str(BOUND)) as running:
        yield running


def _raw_websocket(port: int) -> socket.socket:
    """A WebSocket client that speaks only the handshake, then goes silent (it never answers
    a close frame)."""
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /graphql HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


def _frame(text: str) -> bytes:
    """One masked client text frame (payloads under 64 KiB)."""
    data, mask = text.encode(), os.urandom(4)
    length = (
        bytes([0x80 | len(data)])
        if len(data) < 126
        else bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
    )
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))
    return b"\x81" + length + mask + masked


async def _lines(response: httpx.Response) -> list[str]:
    return [line async for line in response.aiter_lines()]


def _read_to_end(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (it does after a shutdown)."""
    sock.settimeout(BOUND + 10)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


async def _live_subscription(url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    for number in ("1", "2"):
        await ws.send(json.dumps({"id": number, "type": "subscribe", "payload": SUBSCRIBE}))
    return ws


async def _closed_with(ws: websockets.ClientConnection) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=BOUND + 10)
    return closed.value.rcvd.code


async def test_sigterm_ends_streams_lets_requests_finish_and_exits_in_time(server):
    port = int(server.base.rsplit(":", 1)[1])
    url = server.base.replace("http", "ws") + "/graphql"
    silent = _raw_websocket(port)  # no connection_init: closed with 4408 after 10 s
    started = time.monotonic()
    login = httpx.post(
        f"{server.base}/graphql",
        json={"query": LOGIN, "variables": {"login": "root", "password": ROOT_PASSWORD}},
        timeout=10,
    )
    token = login.json()["data"]["tokenCreate"]["accessToken"]
    live = [await _live_subscription(url, token) for _ in range(2)]

    refused = _raw_websocket(port)  # a bad token: closed with 4403, never answered
    refused.sendall(_frame('{"type":"connection_init","payload":{"token":"bad"}}'))
    twice = _raw_websocket(port)  # a duplicate subscription id: closed with 4409
    twice.sendall(_frame(json.dumps({"type": "connection_init", "payload": {"token": token}})))
    duplicate = json.dumps({"id": "d", "type": "subscribe", "payload": SUBSCRIBE})
    twice.sendall(_frame(duplicate) + _frame(duplicate))
    half_closed = _raw_websocket(port)
    half_closed.sendall(
        _frame(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    )
    half_closed.shutdown(socket.SHUT_WR)

    async with httpx.AsyncClient(base_url=server.base, timeout=BOUND + 10) as client:
        headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {token}"}
        async with client.stream("POST", "/graphql", json=SUBSCRIBE, headers=headers) as sse:
            assert sse.status_code == 200
            # A request whose body is half sent when the signal comes, and one never finished.
            body = json.dumps({"query": "{ __typename }"}).encode()
            in_flight = socket.create_connection(("127.0.0.1", port))
            head = (
                f"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            in_flight.sendall(head + body[:5])
            stalled = socket.create_connection(("127.0.0.1", port))
            stalled.sendall(head + body[:5])
            await asyncio.sleep(max(0.0, 10.5 - (time.monotonic() - started)))  # 4408 sent

            signalled = time.monotonic()
            server.process.process.send_signal(signal.SIGTERM)
            codes = await asyncio.gather(*(_closed_with(ws) for ws in live))
            events = await asyncio.wait_for(_lines(sse), timeout=BOUND + 5)  # the stream ends
            in_flight.sendall(body[5:])
            answer = await asyncio.to_thread(_read_to_end, in_flight)
            for _ in range(10 * (BOUND + 5)):
                if server.process.process.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            elapsed = time.monotonic() - signalled
    assert codes == [1001, 1001]
    assert "event: complete" not in events  # not completed: the client subscribes again
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"__typename":"Query"' in answer.replace(b" ", b"")
    assert server.process.process.poll() is not None, "still running after SIGTERM"
    # The stalled request holds the server until the bound; then it is cancelled.
    assert BOUND - 0.5 <= elapsed < BOUND + 3, elapsed
    log = server.process.log.read_text()
    assert "timeout graceful shutdown exceeded" in log
    assert "Application shutdown complete" in log
    for sock in (silent, refused, twice, half_closed, in_flight, stalled):
        sock.close()
