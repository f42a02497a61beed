"""Subscription fan-out: events published after commit reach subscribers on every process.

Messages are JSON-able dicts on named channels (`task:<id>`, `tasks`, `contribution:<id>`).
In the embedded mode they stay in this process. With REDIS_URL, every publish goes through Redis
(from API processes and from the worker alike), and each process holds one Redis subscription per
channel that has local subscribers, fanning each message out to them in arrival order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis

log = logging.getLogger(__name__)
Message = dict[str, Any]
SUBSCRIBER_QUEUE_SIZE = 1000


class InProcessPubSub:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Message]]] = defaultdict(set)

    async def publish(self, channel: str, message: Message) -> None:
        self.deliver(channel, message)

    def deliver(self, channel: str, message: Message) -> None:
        for queue in list(self._queues.get(channel, ())):
            if queue.full():
                # A subscriber that stopped reading must not block others or grow without bound.
                queue.get_nowait()
            queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[asyncio.Queue[Message]]:
        queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE)
        for channel in channels:
            self._queues[channel].add(queue)
        try:
            yield queue
        finally:
            for channel in channels:
                subscribers = self._queues.get(channel)
                if subscribers is not None:
                    subscribers.discard(queue)
                    if not subscribers:
                        del self._queues[channel]

    async def close(self) -> None:
        self._queues.clear()


class RedisPubSub:
    """Publishes through Redis; one Redis subscription per channel with local subscribers."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self._local = InProcessPubSub()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._counts: defaultdict[str, int] = defaultdict(int)

    async def publish(self, channel: str, message: Message) -> None:
        await self._redis.publish(channel, json.dumps(message))

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[asyncio.Queue[Message]]:
        async with self._local.subscribe(*channels) as queue:
            await self._retain(channels)
            try:
                yield queue
            finally:
                await self._release(channels)

    async def _retain(self, channels: tuple[str, ...]) -> None:
        async with self._lock:
            new = [channel for channel in channels if not self._counts[channel]]
            for channel in channels:
                self._counts[channel] += 1
            if new:
                await self._pubsub.subscribe(*new)
            if self._reader is None:
                self._reader = asyncio.create_task(self._read())

    async def _release(self, channels: tuple[str, ...]) -> None:
        async with self._lock:
            gone = []
            for channel in channels:
                self._counts[channel] -= 1
                if not self._counts[channel]:
                    del self._counts[channel]
                    gone.append(channel)
            if gone:
                await self._pubsub.unsubscribe(*gone)

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except Exception:
                log.warning("redis pub/sub read failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            self._local.deliver(channel, json.loads(message["data"]))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._pubsub.aclose()
        await self._redis.aclose()
        await self._local.close()


def create_pubsub(redis_url: str | None) -> InProcessPubSub | RedisPubSub:
    return RedisPubSub(redis_url) if redis_url else InProcessPubSub()
