"""Readiness checks shared by the API and the worker: the database (and migrations), Redis and
S3 when they are configured. Liveness is only "the process answers"."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import redis.asyncio as redis
from sqlalchemy import text

from gotong_gql import migrate
from gotong_gql.storage.s3 import S3ObjectStore

if TYPE_CHECKING:
    from gotong_gql.services import Services

log = logging.getLogger(__name__)


async def readiness(services: Services, migration_head: str | None) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = await migrate.current_revision(services.engine)
        checks["migrations"] = (
            "ok" if current == migration_head else f"at {current}, head is {migration_head}"
        )
    except Exception as exc:
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        checks["database"] = "unreachable"
    if services.settings.redis_url:
        client = redis.Redis.from_url(services.settings.redis_url)
        try:
            await client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            log.warning("readiness: redis unreachable: %s", type(exc).__name__)
            checks["redis"] = "unreachable"
        finally:
            await client.aclose()
    if isinstance(services.storage, S3ObjectStore):
        try:
            await services.storage.ensure_ready()
            checks["s3"] = "ok"
        except Exception as exc:
            log.warning("readiness: S3 unreachable: %s", type(exc).__name__)
            checks["s3"] = "unreachable"
    return checks


def is_ready(checks: dict[str, Any]) -> bool:
    return all(value == "ok" for value in checks.values())
