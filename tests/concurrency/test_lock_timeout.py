"""A writer that cannot get SQLite's write lock in time is told to try again (a clear,
top-level SERVICE_UNAVAILABLE), having written nothing; never INTERNAL."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from gotong_gql import db
from tests.conftest import BACKEND
from tests.evidence.helpers import CONTRIBUTE
from tests.helpers import register

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite", reason="SQLite's busy timeout; PostgreSQL waits for row locks"
)


async def test_a_writer_that_cannot_get_the_lock_is_told_to_retry(api, monkeypatch):
    account = await register(api, "ayu")
    await api.services.engine.dispose()  # new connections, with the short busy timeout
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    before = await api.table_counts()
    holder = sqlite3.connect(make_url(api.services.settings.database_url).database)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        body = (await api.post(CONTRIBUTE, token=account.token)).json()
    finally:
        holder.rollback()
        holder.close()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE", "retryAfter": 1}
    assert await api.table_counts() == before
    again = await api.gql(CONTRIBUTE, token=account.token)
    assert again["contributionCreate"]["errors"] == []
