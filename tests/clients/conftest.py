"""Real clients and tools from npm (tests/clients/package.json, installed by `make clients`)
against a real `gotong-gql serve` process, one per test module."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import JWT_SECRET, create_database, drop_database
from tests.e2e.server import cli, serve

CLIENTS = Path(__file__).resolve().parent
NODE = shutil.which("node")


PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Served:
    base: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A migrated, empty server on a free port, and the environment its CLI needs."""
    tmp = tmp_path_factory.mktemp("clients")
    database = create_database(tmp)
    env = {"DATABASE_URL": database.url, "JWT_SECRET": JWT_SECRET, "VAR_DIR": str(tmp / "var")}
    try:
        migrated = cli("migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        with serve(env, tmp / "server.log") as base:
            yield Served(base, env)
    finally:
        drop_database(database)


@pytest.fixture(scope="module")
def server(served: Served) -> str:
    """The base URL of a migrated, empty server on a free port."""
    return served.base


@dataclass(frozen=True)
class Person:
    username: str
    id: str
    token: str


def person(served: Served, username: str, *roles: str) -> Person:
    """A user made with the CLI (with roles), logged in over HTTP."""
    options = [option for role in roles for option in ("--role", role)]
    made = cli(
        "user", "create", "--username", username, "--email", f"{username}@example.org",
        "--password", PASSWORD, *options, env=served.env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    login = httpx.post(
        f"{served.base}/graphql",
        json={
            "query": "mutation($i: TokenCreateInput!) { tokenCreate(input: $i) { accessToken "
            "user { id } errors { code } } }",
            "variables": {"i": {"login": username, "password": PASSWORD}},
        },
        timeout=30,
    ).json()["data"]["tokenCreate"]
    assert login["errors"] == [], login
    return Person(username, login["user"]["id"], login["accessToken"])


def graphql(served: Served, query: str, variables: dict, who: Person) -> dict:
    """One operation over plain HTTP (setting up what the clients then read), no errors."""
    body = httpx.post(
        f"{served.base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {who.token}"},
        timeout=30,
    ).json()
    assert "errors" not in body, body
    return body["data"]


def run_node(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`node tests/clients/<script> ARGS...`, with the packages `make clients` installed."""
    assert NODE, "node is needed for tests/clients (Node.js 20 or newer)"
    assert (CLIENTS / "node_modules" / ".package-lock.json").is_file(), (
        "the npm packages are missing: make clients (npm ci --prefix tests/clients)"
    )
    return subprocess.run(
        [NODE, str(CLIENTS / script), *args],
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
