"""PostgreSQL restarted under a running server (issue 13): the pool does not ping a connection
at each checkout (gotong_gql/db.py), so the request that meets a dead connection is told to try
again (SERVICE_UNAVAILABLE, having written nothing) and the next ones get new connections."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import BACKEND, PG_ADMIN_DSN
from tests.helpers import create_task, create_user

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL's connections")

TASKS = "{ tasks(first: 5) { edges { node { title creator { username } } } } }"
CREATE = """mutation($title: String!) { taskCreate(input: {title: $title})
  { task { title } errors { code } } }"""
LOST = {
    "message": "the database connection was lost: try again",
    "extensions": {"code": "SERVICE_UNAVAILABLE", "retryAfter": 1},
}


async def _end_backends(api) -> int:
    """What a restart does to the server's pooled connections: their backends end."""
    name = api.services.engine.url.database
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        ended = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await connection.close()
    return len(ended)


def _only_error(body: dict, path: str) -> None:
    (error,) = body["errors"]
    assert {key: error[key] for key in ("message", "extensions")} == LOST
    assert error["path"] == [path]


async def test_a_query_on_a_dead_connection_is_retried_by_the_client(api):
    siti = await create_user(api, "siti", ["organizer"])
    await create_task(api, siti, title="One")
    expected = {"tasks": {"edges": [{"node": {"title": "One", "creator": {"username": "siti"}}}]}}
    assert await api.gql(TASKS, token=siti.token) == expected
    assert await _end_backends(api) >= 1

    body = (await api.post(TASKS, token=siti.token)).json()
    assert body["data"] is None
    _only_error(body, "tasks")
    for _ in range(3):
        assert await api.gql(TASKS, token=siti.token) == expected


async def test_a_mutation_on_a_dead_connection_writes_nothing(api):
    siti = await create_user(api, "siti", ["organizer"])
    assert (await api.gql(CREATE, {"title": "One"}, siti.token))["taskCreate"]["errors"] == []
    before = await api.table_counts()
    assert await _end_backends(api) >= 1

    body = (await api.post(CREATE, {"title": "Two"}, siti.token)).json()
    assert body["data"] is None
    _only_error(body, "taskCreate")
    assert await api.table_counts() == before
    again = await api.gql(CREATE, {"title": "Two"}, siti.token)
    assert again["taskCreate"] == {"task": {"title": "Two"}, "errors": []}
