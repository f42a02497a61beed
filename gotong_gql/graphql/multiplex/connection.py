"""One graphql-transport-ws connection: its bounded send queue, its viewer, its members.

Every message of the connection goes through one queue and one writer task (started when there
is something to write, gone when the queue is empty), so that Strawberry's own messages
(`connection_ack`, `pong`, `complete`, errors) and the groups' `next` frames keep their order.
Groups never wait for a socket: they put a frame (a member's prefix and the payload text the
whole class shares) and go on.

Slow consumers: the queue holds at most WS_SEND_QUEUE_LIMIT messages. A message that finds it full
ends the connection: the queue is dropped, its members leave their groups at once, and the
connection is closed with code 1013 ("Try Again Later", reason "slow consumer"; a graphql-ws
client retries it), counted in gotong_subscription_slow_consumer_closes_total. The others are
not held up: nothing waits for this connection.

The viewer (the token of `connection_init`) is the connection's: its id, and when the token
expires. At expiry each multiplexed subscription of the connection ends as before, with an
UNAUTHENTICATED error (reason TOKEN_EXPIRED) in a `next` message, then `complete`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import GraphQLError

from gotong_gql import metrics
from gotong_gql.graphql.errors import ApiError

if TYPE_CHECKING:
    from gotong_gql.graphql.context import Context
    from gotong_gql.graphql.multiplex.group import Member

log = logging.getLogger(__name__)

SLOW_CONSUMER_CODE = 1013
SLOW_CONSUMER_REASON = "slow consumer"
CLOSE_TIMEOUT_SECONDS = 5.0


class Close(NamedTuple):
    code: int
    reason: str


def token_expired() -> ApiError:
    return ApiError("UNAUTHENTICATED", "the access token expired", reason="TOKEN_EXPIRED")


def account_gone() -> ApiError:
    return ApiError("UNAUTHENTICATED", "the account of this token no longer exists")


class Connection:
    def __init__(
        self,
        websocket: Any,
        encode: Callable[[object], str],
        limit: int,
        forget: Callable[[str], None],
        report: Callable[[GraphQLError], None],
    ) -> None:
        self._websocket = websocket  # Starlette's WebSocket
        self._encode = encode
        self._forget = forget  # the transport's: the operation id is free again
        self._report = report  # logs an error sent to a member, as Strawberry does
        self.limit = limit
        self._queue: deque[str | tuple[str, str] | Close] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self.closed = False
        self.members: dict[str, Member] = {}
        self.context: Context | None = None  # the connection's (request, request id)
        self.user_id: uuid.UUID | None = None
        self.expires_at: datetime | None = None
        self._expiry: asyncio.TimerHandle | None = None

    # The viewer --------------------------------------------------------------------------------

    def identify(self, context: Context, user_id: uuid.UUID, expires_at: datetime) -> None:
        self.context, self.user_id, self.expires_at = context, user_id, expires_at
        loop = asyncio.get_running_loop()
        remaining = (expires_at - datetime.now(UTC)).total_seconds()
        self._expiry = loop.call_at(loop.time() + max(remaining, 0), self.expire)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def expire(self) -> None:
        for member in list(self.members.values()):
            self.end(member, token_expired())

    # Members -----------------------------------------------------------------------------------

    def end(self, member: Member, error: GraphQLError) -> None:
        """Ends one subscription with an error, as its own loop did: `next` with the error
        (no data), then `complete`."""
        if self.members.pop(member.id, None) is None:
            return
        member.group.remove(member)
        self._forget(member.id)
        self._report(error)
        payload = {"data": None, "errors": [error.formatted]}
        self.send_text(self._encode({"id": member.id, "type": "next", "payload": payload}))
        self.send_text(self._encode({"id": member.id, "type": "complete"}))

    def leave(self, operation_id: str) -> None:
        member = self.members.pop(operation_id, None)
        if member is not None:
            member.group.remove(member)

    def leave_all(self) -> None:
        for operation_id in list(self.members):
            self.leave(operation_id)

    def shut(self) -> None:
        """The WebSocket is gone: nothing more to send, no member left."""
        self.closed = True
        self._queue.clear()
        self.leave_all()
        if self._expiry is not None:
            self._expiry.cancel()
        if self._writer is not None:
            self._writer.cancel()

    # Sending -----------------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        self._put(text)

    def send_next(self, prefix: str, payload: str) -> None:
        self._put((prefix, payload))

    def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self._queue.append(Close(code, reason))  # even over the limit: it ends the queue
            self._start()

    def _put(self, item: str | tuple[str, str]) -> None:
        if self.closed:
            return
        if len(self._queue) >= self.limit:
            self._too_slow()
            return
        self._queue.append(item)
        self._start()

    def _start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        sent = 0
        queue = self._queue
        try:
            while queue:
                item = queue.popleft()
                if type(item) is tuple:
                    text = item[0] + item[1] + "}"
                elif type(item) is Close:
                    self.closed = True
                    queue.clear()
                    await self._websocket.close(code=item.code, reason=item.reason)
                    break
                else:
                    text = item  # type: ignore[assignment]
                await self._websocket.send_text(text)
                sent += len(text)  # JSON with ensure_ascii: one byte a character
        except Exception as error:  # the client went away (WebSocketDisconnect, OSError, ...)
            log.debug("websocket send failed: %r", error)
            self.closed = True
            queue.clear()
            self.leave_all()
        finally:
            self._writer = None
            if sent:
                metrics.SUBSCRIPTION_SENT_BYTES.inc(sent)

    def _too_slow(self) -> None:
        self.closed = True
        self._queue.clear()
        self.leave_all()
        metrics.SUBSCRIPTION_SLOW_CONSUMER_CLOSES.inc()
        log.warning(
            "closing a slow WebSocket consumer (%s messages queued, user %s)",
            self.limit,
            self.user_id,
        )
        writer, self._writer = self._writer, None
        self._closer = asyncio.get_running_loop().create_task(self._close_slow(writer))

    async def _close_slow(self, writer: asyncio.Task[None] | None) -> None:
        if writer is not None:
            writer.cancel()  # it waits for a socket that does not drain
            await asyncio.gather(writer, return_exceptions=True)
        with suppress(Exception):
            await asyncio.wait_for(
                self._websocket.close(code=SLOW_CONSUMER_CODE, reason=SLOW_CONSUMER_REASON),
                CLOSE_TIMEOUT_SECONDS,
            )
