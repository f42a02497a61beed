"""List queries run a fixed number of SQL statements, whatever the page size (DataLoaders)."""

from __future__ import annotations

import pytest

from tests.helpers import create_task, create_user, register

# The executor's statements (DataLoaders); the compiled path is one statement (tests/compiler).
pytestmark = pytest.mark.executor

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


PROFILE = """query($u: String!) { user(by: {username: $u}) {
  username bio reputation { score stale }
  skills { skill { name } proficiency endorsementsCount }
  contributions(first: 20) { edges { node { title contributionType skills { name } } } }
  vouchesReceived(first: 10) { edges { node { voucher { username } skill { name } weightHint } } }
} }"""
CONTRIBUTE = """mutation($input: ContributionCreateInput!) { contributionCreate(input: $input)
  { errors { code } } }"""
VOUCH = """mutation($input: VouchCreateInput!) { vouchCreate(input: $input) { errors { code } } }"""


async def test_profile_runs_at_most_six_statements(api):
    skills = ["carpentry", "masonry", "plumbing", "teaching", "cleanup"]
    ayu = await register(api, "ayu")
    await api.gql(
        "mutation($s: [String!]) { accountUpdate(input: {skills: $s}) { errors { code } } }",
        {"s": skills},
        ayu.token,
    )
    for index in range(20):
        data = await api.gql(
            CONTRIBUTE,
            {
                "input": {
                    "contributionType": "COMMUNITY_SERVICE",
                    "title": f"Work {index}",
                    "skills": [skills[index % 5], skills[(index + 1) % 5]],
                }
            },
            ayu.token,
        )
        assert data["contributionCreate"]["errors"] == []
    for index in range(10):
        friend = await register(api, f"friend{index}")
        data = await api.gql(
            VOUCH,
            {"input": {"voucheeId": ayu.id, "skill": skills[index % 5], "weightHint": "MODERATE"}},
            friend.token,
        )
        assert data["vouchCreate"]["errors"] == []

    with api.statements as counter:
        data = await api.gql(PROFILE, {"u": "ayu"}, ayu.token)
    profile = data["user"]
    assert len(profile["contributions"]["edges"]) == 20
    assert len(profile["vouchesReceived"]["edges"]) == 10
    assert len(profile["skills"]) == 5
    assert {s["endorsementsCount"] for s in profile["skills"]} == {2}
    assert profile["reputation"] is None  # no Markov configured, never known
    assert counter.count <= 6, counter.statements
