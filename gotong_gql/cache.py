"""A small JSON cache with expiry: Redis when REDIS_URL is set, a dict in this process otherwise."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any, Protocol

import redis.asyncio as redis


class Cache(Protocol):
    async def get(self, key: str) -> Any | None: ...

    async def get_many(self, keys: list[str]) -> list[Any | None]:
        """The values of the keys, in order, None where none is; one round trip to Redis."""
        ...

    async def set(self, key: str, value: Any, ttl_seconds: int) -> None: ...

    async def close(self) -> None: ...


class InProcessCache:
    """At most `max_entries`, the least recently used going first: some keys come from clients
    (persisted queries), and they must not grow the process without bound."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.max_entries = max_entries

    async def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return json.loads(value)

    async def get_many(self, keys: list[str]) -> list[Any | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: Any, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, json.dumps(value))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)

    async def get(self, key: str) -> Any | None:
        value = await self._redis.get(key)
        return None if value is None else json.loads(value)

    async def get_many(self, keys: list[str]) -> list[Any | None]:
        if not keys:
            return []
        values = await self._redis.mget(keys)
        return [None if value is None else json.loads(value) for value in values]

    async def set(self, key: str, value: Any, ttl_seconds: int) -> None:
        await self._redis.set(key, json.dumps(value), ex=ttl_seconds)

    async def close(self) -> None:
        await self._redis.aclose()


def create_cache(redis_url: str | None) -> Cache:
    return RedisCache(redis_url) if redis_url else InProcessCache()
