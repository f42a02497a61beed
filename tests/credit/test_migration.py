"""Migration 0003 on a database with history: accounts for the users that exist, the existing
audit entries chained in the order they were written, and the checkpoint logged at start."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from gotong_gql import migrate
from gotong_gql.audit.verify import checkpoints, verify
from gotong_gql.db import JSONType, UTCDateTime, create_engine, create_session_factory
from gotong_gql.settings import Settings
from tests.conftest import create_database, drop_database
from tests.http.conftest import make_api  # noqa: F401  (the fixture)

USERS = sa.table(
    "users",
    *(sa.column(name, sa.String()) for name in ("username", "email", "password_hash")),
    sa.column("id", sa.Uuid()),
    sa.column("markov_user_id", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
AUDIT = sa.table(
    "audit_log",
    *(sa.column(name, sa.Uuid()) for name in ("id", "actor_id", "entity_id")),
    sa.column("action", sa.String()),
    sa.column("entity", sa.String()),
    sa.column("after", JSONType),
    sa.column("at", UTCDateTime()),
)


async def _seed_0002(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    users = [uuid.uuid4(), uuid.uuid4()]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(USERS),
            [
                {
                    "id": user_id,
                    "username": f"user{index}",
                    "email": f"user{index}@example.org",
                    "password_hash": "x",
                    "markov_user_id": f"gotong_royong:{user_id}",
                    "created_at": start,
                    "updated_at": start,
                }
                for index, user_id in enumerate(users)
            ],
        )
        # Written out of time order: chained by time. Numbers that JSONB writes back otherwise.
        await connection.execute(
            sa.insert(AUDIT),
            [
                {
                    "id": uuid.uuid4(),
                    "actor_id": users[0],
                    "entity_id": users[0],
                    "action": "user.update",
                    "entity": "user",
                    "after": {"bio": "x", "score": 1.0, "big": 1e16, "small": 0.1},
                    "at": start + timedelta(minutes=minute),
                }
                for minute in (3, 1, 2)
            ],
        )
    await engine.dispose()


async def _check(url: str) -> tuple[list, object, list]:
    engine = create_engine(Settings(database_url=url))
    async with create_session_factory(engine)() as session:
        heads = await checkpoints(session)
        broken = await verify(session, lambda chain, rows: None, heads=heads)
        accounts = list(
            await session.execute(
                text("SELECT kind, limit_minutes FROM credit_accounts ORDER BY kind")
            )
        )
        minutes = [
            row[0] for row in await session.execute(text("SELECT at FROM audit_log ORDER BY seq"))
        ]
    await engine.dispose()
    return heads, broken, [tuple(row) for row in accounts], minutes


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_0003_opens_accounts_and_chains_the_existing_audit_log(tmp_path, backend):
    database = create_database(tmp_path, backend)
    try:
        migrate.upgrade(database.url, "0002")
        asyncio.run(_seed_0002(database.url))
        migrate.upgrade(database.url)
        heads, broken, accounts, times = asyncio.run(_check(database.url))
        assert broken is None
        assert [(head.chain, head.count) for head in heads] == [
            ("audit_log", 3),
            ("credit_transactions", 0),
        ]
        assert accounts == [("community", None), ("user", -1200), ("user", -1200)]
        assert times == sorted(times)
        migrate.downgrade(database.url, "0002")
        migrate.upgrade(database.url)
    finally:
        drop_database(database)


async def test_the_embedded_api_logs_the_checkpoints(make_api, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="gotong_gql.audit.verify")
    await make_api(audit_checkpoint_interval_seconds=3600)
    for _ in range(50):
        if len(caplog.records) >= 2:
            break
        await asyncio.sleep(0.05)
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(":")[0] for line in lines[:2]] == [
        "audit checkpoint audit_log",
        "audit checkpoint credit_transactions",
    ]
