"""Hostile ids and cursors (issue 11 item 8): BAD_USER_INPUT for a cursor, null for `node`,
never INTERNAL."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.helpers import create_task, create_user

HUGE = 9223372036854775807
QUERIES = {
    "tasks": "query($c: String) { tasks(first: 5, after: $c) { edges { cursor } } }",
    "tasks backwards": "query($c: String) { tasks(last: 5, before: $c) { edges { cursor } } }",
    "users": "query($c: String) { users(first: 5, after: $c) { edges { cursor } } }",
    "skills": "query($c: String) { skills(first: 5, after: $c) { edges { cursor } } }",
    "contributions": "query($c: String) { contributions(first: 5, after: $c) { totalCount } }",
    "vouches": "query($c: String) { vouches(first: 5, after: $c) { edges { cursor } } }",
    "nested": "query($c: String) { me { tasksCreated(after: $c) { edges { cursor } } } }",
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
async def siti(api):
    siti = await create_user(api, "siti", ["organizer"])
    await create_task(api, siti, title="One")
    return siti


@pytest.mark.parametrize("name", list(QUERIES))
async def test_a_forged_cursor_is_bad_user_input(api, siti, name):
    query = QUERIES[name]
    argument = "before" if "before" in query else "after"
    for cursor in [
        b64(f"cursor:{HUGE}"),
        b64(f"cursor:{HUGE + 1}"),
        b64("cursor:-1"),
        b64(f'["Task","CREATED_AT_DESC","2026-01-01T00:00:00.000000Z",{HUGE}]'),
        "not a cursor",
        "",
    ]:
        body = (await api.post(query, {"c": cursor}, siti.token)).json()
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": argument}, cursor
        assert body["data"] == ({"me": None} if name == "nested" else None)


NOT_NODE_TYPES = [
    "AuditEntry",
    "WebhookEvent",
    "WebhookFailure",
    "Witness",
    "Nope",
    "",
    # Interfaces: no object is of an interface type alone.
    "Node",
    "UserError",
    # Types of the schema that are not objects with ids: a page, a connection, the roots, an
    # enum, a scalar, an input, an introspection type.
    "PageInfo",
    "TaskConnection",
    "Query",
    "Mutation",
    "Role",
    "String",
    "DateTime",
    "TaskFilter",
    "__Type",
]


@pytest.mark.parametrize("type_name", NOT_NODE_TYPES)
async def test_node_of_a_type_that_is_not_a_node_is_null(api, siti, type_name):
    for node_id in [str(uuid.uuid4()), "x", ""]:
        global_id = b64(f"{type_name}:{node_id}")
        data = await api.gql(
            "query($id: ID!) { node(id: $id) { id } nodes(ids: [$id, $id]) { id } }",
            {"id": global_id},
            siti.token,
        )
        assert data == {"node": None, "nodes": [None, None]}, (type_name, node_id)


async def test_node_of_an_interface_type_is_null_next_to_a_real_node(api, siti):
    task = await create_task(api, siti, title="Two")
    ids = [b64(f"Node:{uuid.uuid4()}"), task["id"], b64(f"UserError:{uuid.uuid4()}")]
    data = await api.gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Task { title } } }",
        {"ids": ids},
        siti.token,
    )
    assert data == {"nodes": [None, {"id": task["id"], "title": "Two"}, None]}


async def test_node_of_a_malformed_id_is_null(api, siti):
    task = await create_task(api, siti, title="Two")
    for global_id in [
        "not base64!",
        b64("no colon"),
        b64("Task:not-a-uuid"),
        b64(f"Task:{HUGE}"),
        b64(f"User:{task['id']}"),
        "",
    ]:
        data = await api.gql(
            "query($id: ID!, $t: ID!) { node(id: $id) { id } nodes(ids: [$t, $id]) { id } }",
            {"id": global_id, "t": task["id"]},
            siti.token,
        )
        assert data == {"node": None, "nodes": [{"id": task["id"]}, None]}, global_id
