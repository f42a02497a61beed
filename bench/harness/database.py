"""The PostgreSQL database of a run (created, migrated with gotong_gql.migrate, dropped) and the
Redis database it may use (flushed before and after).

PostgreSQL is `GOTONG_BENCH_PG` (default postgres@127.0.0.1:5432, trust auth): its `postgres`
database is the admin connection, each run creates its own database next to it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import redis

from harness.base import log

PG_ADMIN_DSN = os.environ.get("GOTONG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_dsn(name: str) -> str:
    """A libpq/asyncpg DSN of database `name` on the benchmark's server."""
    return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


def database_url(name: str) -> str:
    """The same as a SQLAlchemy URL, as gotong-gql's DATABASE_URL takes it."""
    return database_dsn(name).replace("postgresql://", "postgresql+asyncpg://", 1)


def valid_name(name: str) -> bool:
    """Names go into DROP/CREATE DATABASE: letters, digits and _ only."""
    return bool(name) and name.replace("_", "").isalnum()


async def pg_admin(sql: str, *params: Any) -> Any:
    """One statement on the admin connection; its first value."""
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        return await connection.fetchval(sql, *params)
    finally:
        await connection.close()


async def fetch(database: str, sql: str, *params: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_dsn(database), timeout=10)
    try:
        return await connection.fetch(sql, *params)
    finally:
        await connection.close()


async def database_counters(database: str) -> tuple[int, int]:
    """Transactions (committed + rolled back) and sessions (connections) of `database` so far,
    from pg_stat_database (PostgreSQL 15 publishes an idle backend's counters up to 10 s late)."""
    row = await pg_admin(
        "SELECT ARRAY[xact_commit + xact_rollback, sessions] FROM pg_stat_database"
        " WHERE datname = $1",
        database,
    )
    if row is None:
        raise RuntimeError(f"no pg_stat_database row for {database}")
    return int(row[0]), int(row[1])


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """Drops and creates database `name`, migrates it and yields its SQLAlchemy URL; drops it on
    the way out. Runs its own event loops: call it outside of one."""
    from gotong_gql import migrate

    if not valid_name(name):
        raise ValueError(f"not a database name for a benchmark: {name!r}")
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(pg_admin(drop))
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    log(f"created database {name}")
    try:
        url = database_url(name)
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(pg_admin(drop))
        log(f"dropped database {name}")


def flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        client.flushdb()
    finally:
        client.close()
