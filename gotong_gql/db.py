"""Engine, session factory and the column types shared by every model."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gotong_gql.settings import Settings

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored in UTC on every engine.

    PostgreSQL keeps `timestamptz`; SQLite stores text without an offset, so values are converted
    to UTC on the way in and marked UTC on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: timestamps must carry a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


_SQLITE_MATH = {
    "radians": (1, math.radians),
    "sin": (1, math.sin),
    "cos": (1, math.cos),
    "asin": (1, lambda x: math.asin(max(-1.0, min(1.0, x)))),
    "sqrt": (1, math.sqrt),
}


# An execution option of the connection a unit of work runs on (see `begin_write`).
WRITE_LOCK = "gotong_write_lock"
# How long a SQLite writer waits for the write lock before it gives up (SQLITE_BUSY).
SQLITE_BUSY_TIMEOUT_MS = 5000


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would run SELECTs outside any transaction and begin
    # one only at the first write; `_begin_sqlite` emits BEGIN itself instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
    # Builds of SQLite without the math extension lack these; the `near` filter needs them.
    for name, (arity, fn) in _SQLITE_MATH.items():
        dbapi_connection.create_function(name, arity, fn, deterministic=True)
    # What the compiled reads need (compiler/dialect.py, compiler/connection.py).
    from gotong_gql.compiler.connection import FUNCTIONS as CURSOR_FUNCTIONS
    from gotong_gql.compiler.dialect import FUNCTIONS as JSON_FUNCTIONS

    for name, (arity, fn) in {**JSON_FUNCTIONS, **CURSOR_FUNCTIONS}.items():
        dbapi_connection.create_function(name, arity, fn, deterministic=True)


def _begin_sqlite(connection: sa.Connection) -> None:
    """Every transaction begins with a BEGIN of ours (SQLAlchemy's documented pysqlite/aiosqlite
    recipe): deferred for reads, which see one snapshot and never block a writer (WAL);
    IMMEDIATE for a unit of work, which so holds the single write lock from before its first
    read to its commit."""
    immediate = connection.get_execution_options().get(WRITE_LOCK, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# A pooled PostgreSQL connection older than this is closed and replaced when next checked out,
# before anything between here and PostgreSQL (a firewall, a proxy, idle_session_timeout) drops
# it unseen.
POOL_RECYCLE_SECONDS = 1800


def create_engine(settings: Settings) -> AsyncEngine:
    """The engine of one process.

    PostgreSQL's pool does not ping a connection at each checkout (`pool_pre_ping`): that was one
    round trip more for every request, to guard against a rare event. A connection that died
    meanwhile (PostgreSQL restarted, an administrator ended the backend) fails the statement
    that uses it instead; SQLAlchemy recognises the disconnect error, discards that connection
    and marks every other connection of the pool, made before the failure, to be replaced at its
    next checkout. The request that met the dead connection is told to try again
    (SERVICE_UNAVAILABLE, `retryAfter`; graphql/errors.py), and the next ones get new
    connections: tests/test_database_restart.py. `pool_recycle` replaces connections that are
    old, so that the ones a network device may drop silently are not met at all."""
    if settings.is_sqlite:
        _ensure_sqlite_directory(settings.database_url)
        engine = create_async_engine(settings.database_url, echo=settings.database_echo)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
        return engine
    return create_async_engine(
        settings.database_url,
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_recycle=POOL_RECYCLE_SECONDS,
    )


def _ensure_sqlite_directory(url: str) -> None:
    database = sa.engine.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def begin_write(session: AsyncSession) -> None:
    """Start the session's next transaction as a writer's: on SQLite it takes the database's
    write lock at once (`BEGIN IMMEDIATE`, waiting up to the busy timeout), so that nothing it
    reads can change before it commits; on PostgreSQL a plain transaction, whose checked rows
    are locked (`FOR UPDATE`) or changed by compare-and-set.

    A read transaction the session has open (the viewer was loaded first) is ended first: its
    snapshot predates the lock, and SQLite cannot turn a reader into a writer once another
    writer has committed. It holds no changes (queries never write), so committing it writes
    nothing, and keeps the rows it loaded usable."""
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("unflushed changes outside a unit of work")
        await session.commit()
    await session.connection(execution_options={WRITE_LOCK: True})


def is_lock_timeout(exc: DBAPIError) -> bool:
    """The database gave up waiting for a lock: SQLite's busy timeout (SQLITE_BUSY, "database
    is locked"), or PostgreSQL's deadlock detection or lock timeout. Nothing was written."""
    original = exc.orig
    if getattr(original, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
        return True
    return getattr(original, "sqlstate", None) in _PG_LOCK_STATES


_PG_LOCK_STATES = frozenset({"40P01", "55P03"})  # deadlock_detected, lock_not_available
