"""A real `gotong-gql serve` process for the concurrency tests, and a client shaped like the
`api` fixture (`gql`, `post`) so that the shared helpers (register, login, create_task) work."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import JWT_SECRET, create_database, drop_database
from tests.e2e.processes import Process
from tests.e2e.server import cli, free_port

ROOT_PASSWORD = "correct horse battery"


@dataclass
class Server:
    base: str
    database_url: str
    process: Process


@contextmanager
def running_server(tmp: Path, **env: str) -> Iterator[Server]:
    """A migrated database with one admin (`root`), served by one real process."""
    database = create_database(tmp)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        "DATABASE_URL": database.url,
        "JWT_SECRET": JWT_SECRET,
        "VAR_DIR": str(tmp / "var"),
        "GOTONG_ENV": "development",
        "PUBLIC_BASE_URL": base,
        **env,
    }
    try:
        assert cli("migrate", env=environment).returncode == 0
        made = cli(
            "user",
            "create",
            "--username",
            "root",
            "--email",
            "root@example.org",
            "--password",
            ROOT_PASSWORD,
            "--admin",
            env=environment,
        )
        assert made.returncode == 0, made.stderr
        process = Process(["serve", "--port", str(port)], environment, tmp / "server.log")
        process.start(ready="Uvicorn running")  # listening, not only started
        try:
            yield Server(base, database.url, process)
        finally:
            process.stop()
    finally:
        drop_database(database)


@dataclass
class Remote:
    """GraphQL over HTTP to a server process."""

    client: httpx.AsyncClient

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
        body = await self.body(query, variables, token)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def body(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()

    async def burst(self, calls: list[tuple[str, dict[str, Any], str | None]]) -> list[dict]:
        """Every call at once; the whole response bodies, top-level errors included."""
        return list(await asyncio.gather(*(self.body(*call) for call in calls)))


def payload_of(body: dict[str, Any], field: str) -> dict[str, Any]:
    """The mutation's payload; a top-level error (INTERNAL, ...) fails with the whole body."""
    assert "errors" not in body, body
    return body["data"][field]


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]
