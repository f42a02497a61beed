"""Reputation as the Markov Engine computes it, read through two caches.

A fresh value is served from the cache (Redis, or this process in the embedded mode) for
REPUTATION_CACHE_SECONDS; otherwise Markov is asked, and its answer is kept in the cache and in
the reputation_cache table. When Markov cannot answer (down, 5xx, timeout, no URL configured), the
table's last value is served, marked stale.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gotong_gql import metrics
from gotong_gql.db import utcnow
from gotong_gql.reputation.models import ReputationCache

if TYPE_CHECKING:
    from gotong_gql.services import Services

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
    cached = await _from_cache(services, user_id)
    if cached is not None:
        return cached
    fresh = await _from_markov(services, markov_user_id)
    if fresh is not None:
        await _remember(services, user_id, fresh)
        return fresh
    return await _last_known(services, user_id)


async def _from_cache(services: Services, user_id: uuid.UUID) -> Reputation | None:
    try:
        value = await services.cache.get(cache_key(user_id))
    except Exception:
        log.warning("reputation cache unavailable", exc_info=True)
        return None
    metrics.CACHE_LOOKUPS.labels("miss" if value is None else "hit").inc()
    if value is None:
        return None
    return Reputation(**{**value, "cached_at": datetime.fromisoformat(value["cached_at"])})


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


async def _remember(services: Services, user_id: uuid.UUID, reputation: Reputation) -> None:
    """Keep Markov's answer: in the cache (TTL) and as the table's last known value. This is a
    cache write, in its own short transaction, not part of any domain change."""
    value = asdict(reputation)
    value["cached_at"] = reputation.cached_at.isoformat()
    try:
        await services.cache.set(
            cache_key(user_id), value, services.settings.reputation_cache_seconds
        )
    except Exception:
        log.warning("reputation cache unavailable", exc_info=True)
    row = {
        "user_id": user_id,
        "score": reputation.score,
        "tier": reputation.tier,
        "contributions_count": reputation.contributions_count,
        "vouches_received": reputation.vouches_received,
        "skills": reputation.skills,
        "cached_at": reputation.cached_at,
    }
    async with services.session_factory() as session:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        statement = insert(ReputationCache).values(row)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id"],
                set_={key: statement.excluded[key] for key in row if key != "user_id"},
            )
        )
        await session.commit()


async def _last_known(services: Services, user_id: uuid.UUID) -> Reputation | None:
    async with services.session_factory() as session:
        row = await session.get(ReputationCache, user_id)
    if row is None:
        return None
    return Reputation(
        score=row.score,
        tier=row.tier,
        contributions_count=row.contributions_count,
        vouches_received=row.vouches_received,
        skills=row.skills,
        cached_at=row.cached_at,
        stale=True,
    )
