"""List queries run a fixed number of SQL statements, whatever the page size (DataLoaders)."""

from __future__ import annotations

from tests.helpers import create_task, create_user, register

TASKS = """{ tasks(first: 50) { edges { node {
  id title creator { username } assignee { username } skills { name }
} } } }"""
ASSIGN = """mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})
  { errors { code } } }"""


async def test_tasks_page_runs_at_most_four_statements(api):
    organizers = [await create_user(api, f"org{i}", ["organizer"]) for i in range(3)]
    workers = [await register(api, f"worker{i}") for i in range(4)]
    for index in range(50):
        organizer = organizers[index % 3]
        task = await create_task(
            api,
            organizer,
            title=f"task {index}",
            skills=[f"skill-{index % 7}", f"skill-{index % 5}"],
        )
        if index % 2:
            result = await api.gql(
                ASSIGN, {"t": task["id"], "u": workers[index % 4].id}, organizer.token
            )
            assert result["taskAssign"]["errors"] == []

    with api.statements as counter:
        data = await api.gql(TASKS, token=workers[0].token)
    edges = data["tasks"]["edges"]
    assert len(edges) == 50
    assert sum(1 for edge in edges if edge["node"]["assignee"]) == 25
    assert all(len(edge["node"]["skills"]) in (1, 2) for edge in edges)
    assert counter.count <= 4, counter.statements
