"""Rate limits: fixed windows counted in Redis (REDIS_URL) or in this process.

The counting is the `limits` library's (its Redis storage runs atomic Lua scripts; its memory
storage expires windows by itself). This module adds what the API needs on top: the policies read
from the settings, keys that hold no personal data, the `X-RateLimit-*` and `Retry-After` headers,
and failing open (with a warning) when Redis is unreachable, so that an outage of the limiter is
not an outage of the API.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass, field

import redis.asyncio as redis
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter

from gotong_gql.settings import Settings

log = logging.getLogger(__name__)
KEY_PREFIX = "gotong:ratelimit"


@dataclass(frozen=True)
class Decision:
    """The state of one window after a request was counted."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # Unix time when the window starts afresh
    # Seconds to wait, fixed when the decision is made: the body and the Retry-After header of
    # one answer must agree even when they are written on either side of a second's boundary.
    retry_after: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "retry_after", max(1, math.ceil(self.reset_at - time.time())))

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


@dataclass(frozen=True)
class Policies:
    user: RateLimitItem
    ip: RateLimitItem
    login_account: RateLimitItem
    login_ip: RateLimitItem
    register_account: RateLimitItem
    register_ip: RateLimitItem

    @classmethod
    def from_settings(cls, settings: Settings) -> Policies:
        return cls(
            user=parse(settings.rate_limit_user),
            ip=parse(settings.rate_limit_ip),
            login_account=parse(settings.rate_limit_login_account),
            login_ip=parse(settings.rate_limit_login_ip),
            register_account=parse(settings.rate_limit_register_account),
            register_ip=parse(settings.rate_limit_register_ip),
        )


class RateLimiter:
    def __init__(self, redis_url: str | None) -> None:
        self._pool: redis.ConnectionPool | None = None
        if redis_url:
            self._pool = redis.ConnectionPool.from_url(redis_url)
            scheme, _, rest = redis_url.partition("://")
            uri = f"async+redis+unix://{rest}" if scheme == "unix" else f"async+{redis_url}"
            storage: MemoryStorage | RedisStorage = RedisStorage(
                uri, implementation="redispy", key_prefix=KEY_PREFIX, connection_pool=self._pool
            )
        else:
            storage = MemoryStorage()
        self._limiter = FixedWindowRateLimiter(storage)

    async def hit(self, item: RateLimitItem, *key: str, cost: int = 1) -> Decision:
        """Count `cost` against the window; refused when that takes it past its limit."""
        try:
            allowed = await self._limiter.hit(item, *key, cost=cost)
            return await self._decision(item, key, allowed)
        except Exception as exc:
            return self._fail_open(item, exc)

    async def refund(self, item: RateLimitItem, *key: str, cost: int = 1) -> None:
        """Gives back what `hit` counted (the same atomic increment, negative)."""
        try:
            await self._limiter.storage.incr(item.key_for(*key), item.get_expiry(), amount=-cost)
        except Exception as exc:
            self._fail_open(item, exc)

    async def clear(self, item: RateLimitItem, *key: str) -> None:
        await self._limiter.clear(item, *key)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def _decision(self, item: RateLimitItem, key: tuple[str, ...], allowed: bool) -> Decision:
        stats = await self._limiter.get_window_stats(item, *key)
        remaining = max(0, stats.remaining)
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=remaining,
            reset_at=stats.reset_time,
        )

    @staticmethod
    def _fail_open(item: RateLimitItem, exc: Exception) -> Decision:
        log.warning("rate limiter unavailable, request allowed: %s", type(exc).__name__)
        return Decision(True, item.amount, item.amount, time.time() + item.get_expiry())


def client_key(host: str | None) -> str:
    """The IP a limit is kept for: IPv4 as is, IPv6 by its /64 (what one subscriber gets)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def account_key(identifier: str) -> str:
    """A login (email or username) as a key: normalised like the login lookup, then hashed, so
    that Redis holds no addresses."""
    normalised = identifier.strip().lower()
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]
