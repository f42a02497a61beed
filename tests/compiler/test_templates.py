"""One plan for every value of an operation's ID variables (gotong_gql/compiler/templates.py): a
task detail asked for many tasks is compiled once (as a template: twice, with random ids), each
request answers its own task, in one statement; what an id shapes, or a value that only looks
like an id, keeps a plan per value."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from tests.helpers import create_task, create_user, register

DETAIL = """query Detail($id: ID!, $user: ID!) { task(id: $id) { id title creator { username } }
  user(by: {id: $user}) { username } }"""
SEARCH = """query Search($text: String!) { users(first: 5, filter: {search: $text}) {
  edges { node { username } } } }"""
NODE = "query Node($id: ID!) { node(id: $id) { __typename id ... on Task { title } } }"


def compiled_count() -> float:
    labels = {"path": "compiled", "reason": ""}
    return REGISTRY.get_sample_value("gotong_graphql_read_path_total", labels) or 0.0


def _read_path(api):
    return api.app.state.read_path


async def test_one_template_answers_every_task(api):
    organizer = await create_user(api, "org", ["organizer"])
    ayu = await register(api, "ayu")
    tasks = [await create_task(api, organizer, title=f"task {index}") for index in range(6)]
    read_path = _read_path(api)
    made = read_path.templates_made
    before = compiled_count()
    await asyncio.sleep(0.1)  # asyncpg's query logger reports the writes above soon after
    for task in tasks:
        with api.statements as counter:
            data = await api.gql(DETAIL, {"id": task["id"], "user": ayu.id}, ayu.token)
        assert data == {
            "task": {"id": task["id"], "title": task["title"], "creator": {"username": "org"}},
            "user": {"username": "ayu"},
        }
        assert counter.driver_count == 1, counter.driver_statements
    assert compiled_count() == before + len(tasks)
    assert read_path.templates_made == made + 1
    # Another user in the other variable: the same template.
    data = await api.gql(DETAIL, {"id": tasks[0]["id"], "user": organizer.id}, ayu.token)
    assert data["user"] == {"username": "org"}
    assert read_path.templates_made == made + 1


async def test_an_id_of_another_type_or_of_nothing(api):
    organizer = await create_user(api, "org", ["organizer"])
    task = await create_task(api, organizer, title="Carry sand")
    read_path = _read_path(api)
    # A user's id where a task's is wanted, then a task's: different types, different plans.
    assert await api.gql(NODE, {"id": organizer.id}, organizer.token) == {
        "node": {"__typename": "User", "id": organizer.id}
    }
    assert await api.gql(NODE, {"id": task["id"]}, organizer.token) == {
        "node": {"__typename": "Task", "id": task["id"], "title": "Carry sand"}
    }
    made = read_path.templates_made
    other = await create_task(api, organizer, title="Plant trees")
    assert await api.gql(NODE, {"id": other["id"]}, organizer.token) == {
        "node": {"__typename": "Task", "id": other["id"], "title": "Plant trees"}
    }
    assert read_path.templates_made == made


async def test_a_string_that_looks_like_an_id_keeps_a_plan_per_value(api):
    organizer = await create_user(api, "org", ["organizer"])
    ayu = await register(api, "ayu")
    read_path = _read_path(api)
    made = read_path.templates_made
    # A user's global id as a search text: not a template (its value becomes a LIKE pattern).
    data = await api.gql(SEARCH, {"text": ayu.id}, organizer.token)
    assert data == {"users": {"edges": []}}
    data = await api.gql(SEARCH, {"text": "ayu"}, organizer.token)
    assert data == {"users": {"edges": [{"node": {"username": "ayu"}}]}}
    assert read_path.templates_made == made
