from __future__ import annotations

import pytest

from tests.conftest import JWT_SECRET, create_database, drop_database
from tests.e2e.server import cli

COMMANDS = [
    [],
    ["serve"],
    ["migrate"],
    ["export-schema"],
    ["seed-demo"],
    ["user"],
    ["user", "create"],
    ["audit"],
    ["audit", "verify"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command):
    result = cli(*command, "--help", env={})
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_user_create_makes_the_first_admin(tmp_path):
    database = create_database(tmp_path)
    env = {"DATABASE_URL": database.url, "JWT_SECRET": JWT_SECRET, "VAR_DIR": str(tmp_path)}
    try:
        assert cli("migrate", env=env).returncode == 0
        made = cli(
            "user",
            "create",
            "--username",
            "root",
            "--email",
            "root@example.org",
            "--password",
            "a long password",
            "--admin",
            "--role",
            "verifier",
            env=env,
        )
        assert made.returncode == 0, made.stderr
        assert "with roles: verifier, admin" in made.stderr
        again = cli(
            "user",
            "create",
            "--username",
            "root",
            "--email",
            "r2@example.org",
            "--password",
            "a long password",
            env=env,
        )
        assert again.returncode == 1
        assert "USERNAME_TAKEN" in again.stderr
        bad_role = cli(
            "user",
            "create",
            "--username",
            "bob",
            "--email",
            "b@example.org",
            "--password",
            "a long password",
            "--role",
            "king",
            env=env,
        )
        assert bad_role.returncode == 1
        assert "INVALID_ROLE" in bad_role.stderr
    finally:
        drop_database(database)


def test_production_refuses_to_start_with_dev_secrets(tmp_path):
    result = cli(
        "migrate",
        env={
            "GOTONG_ENV": "production",
            "JWT_SECRET": "changeme",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
        },
    )
    assert result.returncode == 2
    assert "JWT_SECRET is a well-known development value" in result.stderr


def test_worker_needs_redis(tmp_path):
    result = cli(
        "worker", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/w.db", "REDIS_URL": ""}
    )
    assert result.returncode == 1
    assert "the worker needs REDIS_URL" in result.stderr
