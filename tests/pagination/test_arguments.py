"""Connection arguments (first/last, after/before), their cost, the statements they run, and
the cursor format of graphql/pagination.py, byte for byte (on PostgreSQL: as SQL makes it)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from gotong_gql.skill.models import Skill, UserSkill
from gotong_gql.task.models import Task
from gotong_gql.user.models import User
from tests.conftest import BACKEND
from tests.helpers import create_user
from tests.pagination.helpers import ARGS, PAGE, VARS, add, node_uuid, rows, run_sql

TASKS = (
    f"query({VARS}, $orderBy: TaskOrderInput) "
    f"{{ tasks({ARGS}, orderBy: $orderBy) {{ {PAGE % 'id title'} }} }}"
)
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def cursor_of(*values) -> str:
    text = json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
async def twelve(api):
    siti = await create_user(api, "siti", ["organizer"])
    tasks = [
        Task(
            creator_id=node_uuid(siti.id),
            title=f"task {index:02d}",
            created_at=T0 + timedelta(minutes=index),
        )
        for index in range(12)
    ]
    await add(api, *tasks)
    return siti, [task.id for task in tasks]  # the last is the newest: first by default


async def _error(api, query, variables, token):
    body = (await api.post(query, variables, token)).json()
    (error,) = body["errors"]
    return error["extensions"]


async def test_wrong_arguments_are_bad_user_input(api, twelve):
    siti, _ = twelve
    for variables, field in [
        ({}, "first"),
        ({"first": 2, "last": 2}, "last"),
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"last": 0}, "last"),
        ({"last": 101}, "last"),
        (
            {"first": 2, "after": cursor_of("User", "USERNAME_ASC", "siti", str(uuid.uuid4()))},
            "after",
        ),
        ({"last": 2, "before": cursor_of("Task", "TITLE_ASC", "x", str(uuid.uuid4()))}, "before"),
    ]:
        assert await _error(api, TASKS, variables, siti.token) == {
            "code": "BAD_USER_INPUT",
            "field": field,
        }, variables


async def test_cursors_are_decoded_strictly(api, twelve):
    siti, ids = twelve
    stamp, row = "2026-01-05T08:11:00.000000Z", str(ids[11])
    good = cursor_of("Task", "CREATED_AT_DESC", stamp, row)
    page = await api.gql(TASKS, {"first": 1}, siti.token)
    assert page["tasks"]["edges"][0]["cursor"] == good  # the documented format, exactly
    for forged in [
        good + "=",  # padding
        base64.b64encode(base64.urlsafe_b64decode(good + "=")).decode(),  # not canonical
        cursor_of("Task", "CREATED_AT_DESC", stamp, row.upper()),
        cursor_of("Task", "CREATED_AT_DESC", stamp.replace("Z", "+00:00"), row),
        cursor_of("Task", "CREATED_AT_DESC", "2026-02-30T08:11:00.000000Z", row),
        cursor_of("Task", "CREATED_AT_DESC", None, row),
        cursor_of("Task", "CREATED_AT_DESC", 1767600660, row),
        cursor_of("Task", "CREATED_AT_DESC", stamp),
        cursor_of("Task", "CREATED_AT_DESC", stamp, row, row),
        cursor_of("Task", "CREATED_AT_ASC", stamp, row),
        cursor_of("Task", "ESTIMATED_HOURS_DESC", "7ff8000000000000", row),  # orders differ
        base64.urlsafe_b64encode(f'["Task", "CREATED_AT_DESC", "{stamp}", "{row}"]'.encode())
        .decode()
        .rstrip("="),
        "x" * 3000,
    ]:
        assert await _error(api, TASKS, {"first": 1, "after": forged}, siti.token) == {
            "code": "BAD_USER_INPUT",
            "field": "after",
        }, forged
    hours = {"field": "ESTIMATED_HOURS", "direction": "DESC"}
    for bits in ["7ff8000000000000", "7ff0000000000000", "3FF0000000000000", "3ff000000000000"]:
        forged = cursor_of("Task", "ESTIMATED_HOURS_DESC", bits, row)
        variables = {"first": 1, "after": forged, "orderBy": hours}
        assert await _error(api, TASKS, variables, siti.token) == {
            "code": "BAD_USER_INPUT",
            "field": "after",
        }, bits
    after_nan_free = cursor_of("Task", "ESTIMATED_HOURS_DESC", "3ff0000000000000", row)
    data = await api.gql(TASKS, {"first": 1, "after": after_nan_free, "orderBy": hours}, siti.token)
    # Every task's hours are NULL, and NULLs come after 1.0; the id breaks the tie, descending.
    assert data["tasks"]["edges"][0]["node"]["title"] == f"task {ids.index(max(ids)):02d}"


def titles(data):
    return [edge["node"]["title"] for edge in data["tasks"]["edges"]]


async def test_after_and_before_together_and_the_flags(api, twelve):
    siti, _ = twelve
    everything = await api.gql(TASKS, {"first": 12}, siti.token)
    cursors = [edge["cursor"] for edge in everything["tasks"]["edges"]]
    window = {"after": cursors[2], "before": cursors[7]}
    forward = (await api.gql(TASKS, {"first": 10, **window}, siti.token))["tasks"]
    assert titles({"tasks": forward}) == ["task 08", "task 07", "task 06", "task 05"]
    assert forward["pageInfo"]["hasNextPage"] is True  # rows follow `before`
    assert forward["pageInfo"]["hasPreviousPage"] is True
    backward = (await api.gql(TASKS, {"last": 2, **window}, siti.token))["tasks"]
    assert titles({"tasks": backward}) == ["task 06", "task 05"]
    assert backward["pageInfo"]["hasPreviousPage"] is True  # within the window
    assert backward["pageInfo"]["hasNextPage"] is True
    assert backward["totalCount"] == 12  # the connection's, not the window's
    end = (await api.gql(TASKS, {"last": 3}, siti.token))["tasks"]
    assert titles({"tasks": end}) == ["task 02", "task 01", "task 00"]
    assert end["pageInfo"]["hasNextPage"] is False
    assert end["pageInfo"]["hasPreviousPage"] is True


async def test_a_cursor_outlives_its_row(api, twelve):
    siti, ids = twelve
    first = (await api.gql(TASKS, {"first": 3}, siti.token))["tasks"]
    last = (await api.gql(TASKS, {"last": 3}, siti.token))["tasks"]
    await run_sql(api, delete(Task).where(Task.id.in_([ids[9], ids[2]])))
    after = await api.gql(TASKS, {"first": 2, "after": first["pageInfo"]["endCursor"]}, siti.token)
    assert titles(after) == ["task 08", "task 07"]
    assert after["tasks"]["pageInfo"]["hasPreviousPage"] is True
    before = await api.gql(
        TASKS, {"last": 2, "before": last["pageInfo"]["startCursor"]}, siti.token
    )
    assert titles(before) == ["task 04", "task 03"]
    assert before["tasks"]["pageInfo"]["hasNextPage"] is True


async def test_nested_connections_read_ten_unless_told(api, twelve):
    siti, _ = twelve
    query = "{ me { tasksCreated { edges { node { id } } pageInfo { hasNextPage } } } }"
    response = await api.post(query, token=siti.token)
    body = response.json()
    assert len(body["data"]["me"]["tasksCreated"]["edges"]) == 10
    assert body["data"]["me"]["tasksCreated"]["pageInfo"] == {"hasNextPage": True}
    assert body["extensions"]["cost"]["nodes"] == 10
    query = "{ me { tasksCreated(last: 4) { edges { node { title } } } } }"
    data = await api.gql(query, token=siti.token)
    assert [e["node"]["title"] for e in data["me"]["tasksCreated"]["edges"]] == [
        "task 03",
        "task 02",
        "task 01",
        "task 00",
    ]


async def test_last_costs_like_first_and_nested_lists_cost_ten(api, twelve):
    siti, _ = twelve
    for query, nodes in [
        ("{ tasks(last: 40) { edges { node { id } } } }", 40),
        ("{ tasks(first: 40) { totalCount pageInfo { hasNextPage } } }", 40),
        ("{ users(last: 5) { edges { node { tasksCreated { totalCount } } } } }", 5 + 5 * 10),
        (
            "{ users(first: 5) { edges { node { tasksCreated(last: 3) { edges { node {"
            " assignments { edges { node { status } } } } } } } } } }",
            5 + 5 * (3 + 3 * 10),
        ),
    ]:
        body = (await api.post(query, token=siti.token)).json()
        assert "errors" not in body, body
        assert body["extensions"]["cost"]["nodes"] == nodes, query


async def test_last_10000_is_refused_before_execution(api, twelve):
    siti, _ = twelve
    with api.statements as counter:
        error = await _error(
            api, "{ tasks(last: 10000) { edges { node { id } } } }", {}, siti.token
        )
    assert error["limit"] == "cost"
    assert error["actual"] == 10000
    assert counter.count == 0


@pytest.mark.executor
async def test_total_count_and_look_ahead_run_only_when_selected(api, twelve):
    siti, _ = twelve
    plain = "query($a: String) { tasks(first: 3, after: $a) { edges { cursor } %s } }"
    flags = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
    counts = {}
    for name, extra, after in [
        ("page", "", None),
        ("flags", flags, None),
        ("total", "totalCount", None),
        ("after", flags, "first page"),
    ]:
        if after:
            first = await api.gql(plain % "", {}, siti.token)
            after = first["tasks"]["edges"][-1]["cursor"]
        with api.statements as counter:
            await api.gql(plain % extra, {"a": after}, siti.token)
        counts[name] = counter.count
    assert counts["flags"] == counts["page"]  # hasNextPage from the extra row
    assert counts["total"] == counts["page"] + 1
    assert counts["after"] == counts["page"] + 1  # hasPreviousPage looks behind `after`


KINDS = {
    "timestamp": "to_json(to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))",
    "text": "to_json({}::text)",
    "float": "coalesce(to_json(encode(float8send({}), 'hex'))::text, 'null')",
    "int": "{}::text",
    "uuid": "to_json({}::text)",
}


def pg_cursor(node: str, order: str, *keys: tuple[str, str]) -> str:
    """The expression documented in graphql/pagination.py."""
    parts = [f"to_json('{node}'::text)", f"to_json('{order}'::text)"]
    parts += [KINDS[kind].format(column) for kind, column in keys]
    body = " || ',' || ".join(parts)
    return f"translate(encode(convert_to('[' || {body} || ']', 'UTF8'), 'base64'), E'+/=\\n', '-_')"


@pytest.mark.skipif(BACKEND != "postgres", reason="the SQL expression is PostgreSQL's")
async def test_postgresql_makes_the_same_cursors(api, twelve):
    siti, ids = twelve
    odd = ['quote " back\\slash', "tab\tnew\nline\x01", "é ✓ 🎉 long " + "x" * 90, "plain"]
    for task_id, title, hours in zip(ids, odd, [0.1, None, 1e-7, 12345.678], strict=False):
        change = update(Task).where(Task.id == task_id).values(title=title, estimated_hours=hours)
        await run_sql(api, change)
    for field, kind, column in [
        ("CREATED_AT", "timestamp", "created_at"),
        ("TITLE", "text", "title"),
        ("ESTIMATED_HOURS", "float", "estimated_hours"),
    ]:
        for direction in ("ASC", "DESC"):
            order = {"field": field, "direction": direction}
            data = await api.gql(TASKS, {"first": 12, "orderBy": order}, siti.token)
            by_api = {
                node_uuid(edge["node"]["id"]): edge["cursor"] for edge in data["tasks"]["edges"]
            }
            expression = pg_cursor("Task", f"{field}_{direction}", (kind, column), ("uuid", "id"))
            by_sql = {
                row[0]: row[1] for row in await api.sql(f"SELECT id, {expression} FROM tasks")
            }
            assert by_api == by_sql, (field, direction)

    masonry = Skill(name="masonry")
    await add(api, masonry)
    (siti_id,) = [row[0] for row in await rows(api, select(User.id).where(User.username == "siti"))]
    await add(
        api, UserSkill(user_id=siti_id, skill_id=masonry.id, proficiency=0.15, endorsements_count=7)
    )
    query = '{ users(first: 5, filter: {skill: "masonry"}) { edges { cursor } } }'
    (edge,) = (await api.gql(query, token=siti.token))["users"]["edges"]
    expression = pg_cursor(
        "User",
        "PROFICIENCY_DESC",
        ("float", "s.proficiency"),
        ("int", "s.endorsements_count"),
        ("text", "u.username"),
        ("uuid", "u.id"),
    )
    (row,) = await api.sql(
        f"SELECT {expression} FROM users u JOIN user_skills s ON s.user_id = u.id"
    )
    assert edge["cursor"] == row[0]
