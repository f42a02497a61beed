"""Test fixtures: a real database (PostgreSQL or SQLite, by GOTONG_TEST_DB), the app over HTTP.

`make test` runs the suite twice: GOTONG_TEST_DB=postgres and GOTONG_TEST_DB=sqlite. With CI=true
an unreachable PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from gotong_gql import migrate
from gotong_gql.app import create_app
from gotong_gql.models import metadata
from gotong_gql.settings import Settings

SESSION_LOG = "session.log"
PG_ADMIN_DSN = os.environ.get("GOTONG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
JWT_SECRET = "test-secret-" + "x" * 40
BACKEND = os.environ.get("GOTONG_TEST_DB", "sqlite")
# The Redis server the tests use (each suite takes a numbered database of it and flushes it);
# two suites running at once need two servers.
REDIS_TEST_SERVER = os.environ.get("GOTONG_TEST_REDIS", "redis://127.0.0.1:6379").rstrip("/")
# What current GraphQL clients send (graphql-http's client, graphql-request, urql without its
# stream type); httpx's own `*/*` would get the legacy application/json. Tests of the Accept
# rules set the header themselves.
CLIENT_HEADERS = {"Accept": "application/graphql-response+json, application/json"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """tests/http/test_logs.py searches what the whole run logged: it runs last."""
    audit = [item for item in items if item.path.parts[-2:] == ("http", "test_logs.py")]
    items[:] = [item for item in items if item not in audit] + audit


@pytest.fixture(scope="session")
def session_log_handler(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[logging.FileHandler]:
    """Every record logged during the run, at INFO and above as in production (SQLAlchemy's
    statement log stays off, as with DATABASE_ECHO unset), in one file under the base temp."""
    handler = logging.FileHandler(tmp_path_factory.getbasetemp() / SESSION_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    engine = logging.getLogger("sqlalchemy.engine")
    level = engine.level
    engine.setLevel(logging.WARNING)
    yield handler
    logging.getLogger().removeHandler(handler)
    engine.setLevel(level)
    handler.close()


@pytest.fixture(autouse=True)
def session_log(session_log_handler: logging.FileHandler) -> Path:
    """Attached again before each test: a test may have reset the logging configuration."""
    root = logging.getLogger()
    if session_log_handler not in root.handlers:
        root.addHandler(session_log_handler)
    root.setLevel(logging.INFO)
    return Path(session_log_handler.baseFilename)


async def _pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _pg_reachable() -> bool:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
        return True
    except (OSError, asyncpg.PostgresError):
        return False


@dataclass
class Database:
    backend: str
    url: str


def create_database(tmp_path: Path, backend: str = BACKEND) -> Database:
    if backend == "postgres":
        if not _pg_reachable():
            if os.environ.get("CI") == "true":
                pytest.fail(
                    f"PostgreSQL is required with CI=true and is unreachable: {PG_ADMIN_DSN}"
                )
            pytest.skip("PostgreSQL is not reachable")
        name = f"gotong_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return Database("postgres", f"{base}/{name}")
    return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'gotong.db'}")


def drop_database(database: Database) -> None:
    if database.backend == "postgres":
        name = database.url.rsplit("/", 1)[1]
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = create_database(tmp_path_factory.mktemp("db"))
    migrate.upgrade(database.url)
    yield database
    drop_database(database)


@pytest.fixture
def settings(database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return Settings(
        gotong_env="test",
        database_url=database.url,
        jwt_secret=JWT_SECRET,
        var_dir=tmp_path / "var",
        # Tests that count the executor's statements run every query on the executor.
        graphql_compiled_reads=request.node.get_closest_marker("executor") is None,
    )


class StatementCounter:
    """Statements seen through SQLAlchemy (`statements`) and, for every statement the server
    sends, through the driver itself (`driver_statements`: asyncpg's query logger, SQLite's
    trace callback), which also sees what the compiled reads send past SQLAlchemy."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.driver_statements: list[str] = []
        self.active = False

    def driver(self, statement: str) -> None:
        if self.active:
            self.driver_statements.append(statement)

    def on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        raw = dbapi_connection.driver_connection
        if hasattr(raw, "add_query_logger"):
            raw.add_query_logger(lambda record: self.driver(record.query))
        else:
            raw._conn.set_trace_callback(self.driver)

    @property
    def driver_count(self) -> int:
        return len(self.driver_statements)

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # SQLite's BEGIN is sent as a statement (gotong_gql.db); PostgreSQL's is not seen here.
        if self.active and not statement.startswith("BEGIN"):
            self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        self.statements.clear()
        self.driver_statements.clear()
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False

    @property
    def count(self) -> int:
        return len(self.statements)


@dataclass
class Api:
    """The app over real HTTP semantics (ASGI), with helpers for GraphQL calls."""

    client: httpx.AsyncClient
    app: Any
    statements: StatementCounter

    @property
    def services(self) -> Any:
        return self.app.state.services

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        """Raw SQL in its own committed transaction; the rows, if the statement returns any."""
        async with self.services.engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    async def table_counts(self) -> dict[str, int]:
        counts = {}
        async with self.services.engine.connect() as connection:
            for table in metadata.sorted_tables:
                counts[table.name] = (
                    await connection.execute(text(f"SELECT count(*) FROM {table.name}"))
                ).scalar_one()
        return counts


async def truncate_all(engine: Any) -> None:
    """Empties every table. A process the test started (a worker finishing a job) may still read
    several tables while TRUNCATE locks them one by one: PostgreSQL then ends one of the two as a
    deadlock, and emptying the tables is simply tried again."""
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    for attempt in range(5):
        try:
            async with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    await connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
                else:
                    for table in tables:
                        await connection.execute(text(f"DELETE FROM {table}"))
            return
        except DBAPIError as error:
            if "deadlock" not in str(error) or attempt == 4:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    counter = StatementCounter()
    async with app.router.lifespan_context(app):
        engine = app.state.services.engine
        event.listen(engine.sync_engine, "before_cursor_execute", counter)
        event.listen(engine.sync_engine, "connect", counter.on_connect)
        await engine.dispose()  # the connections made so far have no driver listener
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=CLIENT_HEADERS
        ) as client:
            try:
                yield Api(client=client, app=app, statements=counter)
            finally:
                await truncate_all(engine)
