"""Ending the live streams when the process is told to stop, so that shutdown has an end.

uvicorn answers SIGTERM (or SIGINT) by closing its listening sockets and waiting for the open
connections, for at most `timeout_graceful_shutdown` (our SHUTDOWN_TIMEOUT_SECONDS) before it
cancels what is left. A subscription never ends by itself: without help every open
WebSocket and Server-Sent Events stream kept the process waiting (forever before the bound
existed). So the app ends its own live streams as soon as the signal arrives:

- each WebSocket gets a close frame with code 1001 (going away: reconnect, to another
  process); the app sees the disconnect and its subscriptions stop;
- each SSE stream gets its last chunk, without a `complete` event (the operation did not
  complete, so a graphql-sse client subscribes again, elsewhere).

Ordinary in-flight requests are left to finish within the bound. A stream that opens after the
signal (before uvicorn has closed its sockets) is ended at once.

How the app hears the signal: uvicorn (in every worker process) installs its handlers with
`signal.signal` before the lifespan starts; the lifespan chains ours in front of them
(`closing_on_termination`) and puts uvicorn's back when it ends.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

GOING_AWAY: Message = {"type": "websocket.close", "code": 1001, "reason": "server shutting down"}
LAST_CHUNK: Message = {"type": "http.response.body", "body": b"", "more_body": False}
TERMINATION_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class LiveStreams:
    """The WebSockets and event streams this process is serving."""

    def __init__(self) -> None:
        self._open: set[_Stream] = set()
        self._closing: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self._closing is not None

    def track(self, stream: _Stream) -> None:
        self._open.add(stream)

    def forget(self, stream: _Stream) -> None:
        self._open.discard(stream)

    def close_all(self) -> None:
        """Ends every open stream (in a task: a client that reads nothing must not hold up
        the rest); later ones are ended as they open."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(
                asyncio.gather(*(stream.end() for stream in self._open), return_exceptions=True)
            )

    @contextmanager
    def closing_on_termination(self) -> Iterator[None]:
        """While the app runs: SIGTERM and SIGINT end the live streams, then reach the server's
        own handler. Only in front of a handler a server installed (tests install none)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        chained: dict[int, Any] = {}

        def handle(signum: int, frame: Any) -> None:
            loop.call_soon_threadsafe(self.close_all)
            chained[signum](signum, frame)

        for signum in TERMINATION_SIGNALS:
            server_handler = signal.getsignal(signum)
            if callable(server_handler) and server_handler is not signal.default_int_handler:
                chained[signum] = server_handler
                signal.signal(signum, handle)
        try:
            yield
        finally:
            for signum, server_handler in chained.items():
                signal.signal(signum, server_handler)


class _Stream:
    """One response's `send`, which the server may end: after that the app's messages go
    nowhere (the client has been told goodbye), and the app sees the disconnect."""

    def __init__(self, streams: LiveStreams, websocket: bool, send: Send) -> None:
        self._streams, self._websocket, self._send = streams, websocket, send
        self._lock = asyncio.Lock()  # one message at a time: ours never cuts one of the app's
        self._ended = False

    async def send(self, message: Message) -> None:
        async with self._lock:
            if self._ended:
                return
            await self._send(message)
        if _opens_stream(message):
            self._streams.track(self)
            if self._streams.closing:
                await self.end()
        elif message["type"] == "websocket.close":
            self._streams.forget(self)

    async def end(self) -> None:
        async with self._lock:
            if self._ended:
                return
            self._ended = True
            await self._send(GOING_AWAY if self._websocket else LAST_CHUNK)


def _opens_stream(message: Message) -> bool:
    if message["type"] == "websocket.accept":
        return True
    if message["type"] != "http.response.start":
        return False
    content_type = dict(message.get("headers") or []).get(b"content-type", b"")
    return content_type.split(b";")[0].strip().lower() == b"text/event-stream"


class LiveStreamMiddleware:
    """Registers every WebSocket and event stream with `streams` while it is open."""

    def __init__(self, app: ASGIApp, streams: LiveStreams) -> None:
        self.app, self.streams = app, streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        stream = _Stream(self.streams, scope["type"] == "websocket", send)
        try:
            await self.app(scope, receive, stream.send)
        finally:
            self.streams.forget(stream)
