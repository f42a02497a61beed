"""One Alembic chain: upgrade from empty, downgrade to base, no autogenerate difference."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from gotong_gql import migrate
from gotong_gql.db import create_engine, create_session_factory
from gotong_gql.models import metadata
from gotong_gql.settings import Settings
from gotong_gql.user.models import User
from gotong_gql.vouch.models import Vouch
from tests.conftest import create_database, drop_database


async def _inspect(url: str) -> tuple[list[str], list, str | None]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
        return sorted(tables), diff, await migrate.current_revision(engine)
    finally:
        await engine.dispose()


# SQLite's reflection cannot read expression indexes (uq_users_username_lower): PostgreSQL's
# run compares them.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_upgrade_downgrade_and_no_drift(tmp_path, backend):
    database = create_database(tmp_path, backend)
    try:
        migrate.upgrade(database.url)
        tables, diff, revision = asyncio.run(_inspect(database.url))
        assert revision == migrate.head_revision()
        assert set(metadata.tables) <= set(tables)
        assert diff == []

        migrate.downgrade(database.url, "base")
        tables, _, revision = asyncio.run(_inspect(database.url))
        assert revision is None
        assert [t for t in tables if t != "alembic_version"] == []

        migrate.upgrade(database.url)
        assert asyncio.run(_inspect(database.url))[2] == migrate.head_revision()
    finally:
        drop_database(database)


async def _refused_vouches(url: str) -> list[str]:
    engine = create_engine(Settings(database_url=url))
    sessions = create_session_factory(engine)
    alice, bobby = (
        User(
            username=name,
            email=f"{name}@example.org",
            password_hash="x",
            markov_user_id=f"gotong_royong:{name}",
        )
        for name in ("alice", "bobby")
    )
    async with sessions() as session:
        session.add_all([alice, bobby])
        await session.commit()
    attempts = {
        "general vouch": Vouch(voucher_id=alice.id, vouchee_id=bobby.id),
        "second general vouch": Vouch(voucher_id=alice.id, vouchee_id=bobby.id),
        "self vouch": Vouch(voucher_id=alice.id, vouchee_id=alice.id),
        "bad weight hint": Vouch(voucher_id=bobby.id, vouchee_id=alice.id, weight_hint="huge"),
    }
    refused = []
    for label, vouch in attempts.items():
        async with sessions() as session:
            session.add(vouch)
            try:
                await session.commit()
            except sa.exc.IntegrityError:
                refused.append(label)
    await engine.dispose()
    return refused


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_constraints_hold_in_the_database(tmp_path, backend):
    """The partial unique index on vouches and the checks are the database's own."""
    database = create_database(tmp_path, backend)
    try:
        migrate.upgrade(database.url)
        assert asyncio.run(_refused_vouches(database.url)) == [
            "second general vouch",
            "self vouch",
            "bad weight hint",
        ]
    finally:
        drop_database(database)
