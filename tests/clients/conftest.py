"""Real clients and tools from npm (tests/clients/package.json, installed by `make clients`)
against a real `gotong-gql serve` process, one per test module."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import JWT_SECRET, create_database, drop_database
from tests.e2e.server import cli, serve

CLIENTS = Path(__file__).resolve().parent
NODE = shutil.which("node")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a migrated, empty server on a free port."""
    tmp = tmp_path_factory.mktemp("clients")
    database = create_database(tmp)
    env = {"DATABASE_URL": database.url, "JWT_SECRET": JWT_SECRET, "VAR_DIR": str(tmp / "var")}
    try:
        migrated = cli("migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        with serve(env, tmp / "server.log") as base:
            yield base
    finally:
        drop_database(database)


def run_node(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`node tests/clients/<script> ARGS...`, with the packages `make clients` installed."""
    assert NODE, "node is needed for tests/clients (Node.js 18 or newer)"
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
