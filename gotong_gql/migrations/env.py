"""Alembic environment: async, on PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from gotong_gql.db import UTCDateTime, create_engine
from gotong_gql.models import metadata
from gotong_gql.settings import Settings

config = context.config


def _settings() -> Settings:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    return Settings(database_url=url) if url else Settings()


def _render_item(kind: str, item: object, autogen_context: Any) -> str | bool:
    """New revisions name the project's column types as the first migration imports them."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "UTCDateTime()"
    if kind == "type" and isinstance(item, sa.JSON):
        return "JSONType"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_settings())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_settings().database_url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
