"""The compiled path answers the task list with one SQL statement per request, counted at the
driver (every statement the server sends to the database, BEGIN and ROLLBACK included)."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from tests.helpers import create_task, create_user, register

TASK_LIST = """query TaskList { tasks(first: 50) { edges { node { id title status
  creator { username } assignee { username } skills { name } } } } }"""
ASSIGN = """mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})
  { errors { code } } }"""


def compiled_count() -> float:
    return (
        REGISTRY.get_sample_value(
            "gotong_graphql_read_path_total", {"path": "compiled", "reason": ""}
        )
        or 0.0
    )


async def test_task_list_is_one_statement(api):
    organizer = await create_user(api, "org", ["organizer"])
    worker = await register(api, "worker")
    for index in range(60):
        task = await create_task(
            api, organizer, title=f"task {index}", skills=[f"skill-{index % 3}", "common"]
        )
        if index % 2:
            result = await api.gql(ASSIGN, {"t": task["id"], "u": worker.id}, organizer.token)
            assert result["taskAssign"]["errors"] == []
    await asyncio.sleep(0.1)  # asyncpg's query logger reports the writes above soon after
    before = compiled_count()
    with api.statements as counter:
        response = await api.client.post(
            "/graphql",
            json={"query": TASK_LIST, "operationName": "TaskList"},
            headers={"authorization": f"Bearer {worker.token}"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert compiled_count() == before + 1
    assert counter.driver_count == 1, counter.driver_statements
    edges = body["data"]["tasks"]["edges"]
    assert len(edges) == 50
    assert edges[0]["node"]["title"] == "task 59"
    assert edges[0]["node"]["assignee"] == {"username": "worker"}
    assert edges[1]["node"]["assignee"] is None
    assert edges[0]["node"]["creator"] == {"username": "org"}
    assert edges[0]["node"]["skills"] == [{"name": "common"}, {"name": "skill-2"}]
    assert edges[0]["node"]["status"] == "ASSIGNED"
    assert body["extensions"]["cost"]["nodes"] > 0
