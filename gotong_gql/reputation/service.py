"""Reputation as the Markov Engine computes it, read through two caches.

A fresh value is served from the cache (Redis, or this process in the embedded mode) for
REPUTATION_CACHE_SECONDS; otherwise Markov is asked, and its answer is kept in the cache and in
the reputation_cache table. When Markov cannot answer (down, 5xx, timeout, no URL configured), the
table's last value is served, marked stale.

Many users at once (`User.reputation` on a list, through a DataLoader): one cache round trip
(MGET) for all of them, Markov asked for the missing ones concurrently, its answers kept with one
statement, and the last known values of the rest read with one statement, in the request's
session when one is given: never a connection per user.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gotong_gql import metrics
from gotong_gql.db import utcnow
from gotong_gql.reputation.models import ReputationCache
from gotong_gql.rows import rows_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from gotong_gql.services import Services

    Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]

log = logging.getLogger(__name__)
REPUTATION_PATH = "/api/v1/users/{markov_user_id}/reputation"


@dataclass(frozen=True)
class Reputation:
    score: float
    tier: str | None
    contributions_count: int
    vouches_received: int
    skills: list[dict[str, Any]]
    cached_at: datetime
    stale: bool = False


def cache_key(user_id: uuid.UUID) -> str:
    return f"reputation:{user_id}"


async def reputation_of(
    services: Services, user_id: uuid.UUID, markov_user_id: str
) -> Reputation | None:
    (found,) = await reputations_of(services, [(user_id, markov_user_id)])
    return found


async def reputations_of(
    services: Services,
    users: Sequence[tuple[uuid.UUID, str]],
    sessions: Sessions | None = None,
) -> list[Reputation | None]:
    """The reputation of each (user id, Markov user id), in order; `sessions` reads the table
    (the request's session), its own short session otherwise."""
    found = await _from_cache(services, [user_id for user_id, _ in users])
    missing = {user_id: markov for user_id, markov in users if user_id not in found}
    if missing:
        asked = await asyncio.gather(*(_from_markov(services, m) for m in missing.values()))
        fresh = {user_id: value for user_id, value in zip(missing, asked, strict=True) if value}
        if fresh:
            await _remember(services, fresh)
            found.update(fresh)
        unknown = [user_id for user_id in missing if user_id not in fresh]
        if unknown:
            found.update(await _last_known(services, unknown, sessions))
    return [found.get(user_id) for user_id, _ in users]


async def _from_cache(services: Services, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, Reputation]:
    try:
        values = await services.cache.get_many([cache_key(user_id) for user_id in user_ids])
    except Exception:
        log.warning("reputation cache unavailable", exc_info=True)
        return {}
    found = {}
    for user_id, value in zip(user_ids, values, strict=True):
        metrics.CACHE_LOOKUPS.labels("miss" if value is None else "hit").inc()
        if value is not None:
            cached_at = datetime.fromisoformat(value["cached_at"])
            found[user_id] = Reputation(**{**value, "cached_at": cached_at})
    return found


async def _from_markov(services: Services, markov_user_id: str) -> Reputation | None:
    settings = services.settings
    if not settings.markov_base_url:
        return None
    url = settings.markov_base_url.rstrip("/") + REPUTATION_PATH.format(
        markov_user_id=markov_user_id
    )
    headers = {}
    if settings.markov_api_token:
        headers["Authorization"] = f"Bearer {settings.markov_api_token.get_secret_value()}"
    try:
        response = await services.http.get(url, headers=headers)
        response.raise_for_status()
        body = response.json()
        return Reputation(
            score=float(body["reputation_score"]),
            tier=body.get("tier"),
            contributions_count=int(body.get("contributions_count", 0)),
            vouches_received=int(body.get("vouches_received", 0)),
            skills=list(body.get("skills", [])),
            cached_at=utcnow(),
        )
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.warning("Markov reputation unavailable for %s: %s", markov_user_id, exc)
        return None


async def _remember(services: Services, fresh: dict[uuid.UUID, Reputation]) -> None:
    """Keep Markov's answers: in the cache (TTL) and as the table's last known values. This is a
    cache write, in its own short transaction (one statement), not part of any domain change."""
    rows = []
    for user_id, reputation in fresh.items():
        value = asdict(reputation)
        value["cached_at"] = reputation.cached_at.isoformat()
        try:
            await services.cache.set(
                cache_key(user_id), value, services.settings.reputation_cache_seconds
            )
        except Exception:
            log.warning("reputation cache unavailable", exc_info=True)
        rows.append(
            {
                "user_id": user_id,
                "score": reputation.score,
                "tier": reputation.tier,
                "contributions_count": reputation.contributions_count,
                "vouches_received": reputation.vouches_received,
                "skills": reputation.skills,
                "cached_at": reputation.cached_at,
            }
        )
    async with services.session_factory() as session:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        statement = insert(ReputationCache).values(rows)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id"],
                set_={key: statement.excluded[key] for key in rows[0] if key != "user_id"},
            )
        )
        await session.commit()


async def _last_known(
    services: Services, user_ids: list[uuid.UUID], sessions: Sessions | None
) -> dict[uuid.UUID, Reputation]:
    query = rows_of(ReputationCache).where(ReputationCache.user_id.in_(user_ids))
    async with (sessions or services.session_factory)() as session:
        rows = list(await session.execute(query))
    return {
        row.user_id: Reputation(
            score=row.score,
            tier=row.tier,
            contributions_count=row.contributions_count,
            vouches_received=row.vouches_received,
            skills=row.skills,
            cached_at=row.cached_at,
            stale=True,
        )
        for row in rows
    }
