"""taskComplete and contributionCreate: the contribution, its audit entry and its outbox event
are written together, or not at all. (Embedded settings: no Markov URL, events wait.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.helpers import (
    create_task,
    create_user,
    input_path,
    json_value,
    register,
    uuid_text,
)

ASSIGN = """mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})
  { errors { code } } }"""
START = "mutation($t: ID!) { taskStart(input: {taskId: $t}) { errors { code } } }"
COMPLETE = """mutation($input: TaskCompleteInput!) { taskComplete(input: $input) {
  task { status completedAt contribution { title } }
  contribution { id contributionType title description evidenceUrl verificationStatus metadata
                 user { username } task { title } skills { name } }
  errors { path code } } }"""
CONTRIBUTE = """mutation($input: ContributionCreateInput!) { contributionCreate(input: $input) {
  contribution { contributionType title skills { name } metadata } errors { path code } } }"""


async def _in_progress_task(api):
    siti = await create_user(api, "siti", ["organizer"])
    budi = await register(api, "budi")
    task = await create_task(
        api, siti, title="Fix the well", location="Bantul", skills=["masonry"], estimatedHours=2
    )
    await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    return siti, budi, task


async def test_complete_creates_the_contribution_and_its_event(api):
    _, budi, task = await _in_progress_task(api)
    await api.gql(START, {"t": task["id"]}, budi.token)
    data = await api.gql(
        COMPLETE,
        {
            "input": {
                "taskId": task["id"],
                "description": "Rebuilt the wall",
                "durationHours": 3,
                "evidenceUrl": "https://example.org/well.jpg",
            }
        },
        budi.token,
    )
    payload = data["taskComplete"]
    assert payload["errors"] == []
    assert payload["task"]["status"] == "COMPLETED"
    assert payload["task"]["completedAt"] is not None
    assert payload["task"]["contribution"] == {"title": "Fix the well"}
    contribution = payload["contribution"]
    assert {key: contribution[key] for key in contribution if key not in ("id", "metadata")} == {
        "contributionType": "TASK_COMPLETION",
        "title": "Fix the well",
        "description": "Rebuilt the wall",
        "evidenceUrl": "https://example.org/well.jpg",
        "verificationStatus": "PENDING",
        "user": {"username": "budi"},
        "task": {"title": "Fix the well"},
        "skills": [{"name": "masonry"}],
    }
    assert contribution["metadata"]["duration_hours"] == 3
    assert contribution["metadata"]["location"] == "Bantul"

    (assignment,) = await api.sql("SELECT status, completed_at FROM task_assignments")
    assert assignment.status == "completed"
    assert assignment.completed_at is not None
    actions = [row.action for row in await api.sql("SELECT action FROM audit_log ORDER BY at")]
    assert actions[-2:] == ["contribution.create", "task.complete"]

    (event,) = await api.sql("SELECT event_type, status, payload FROM webhook_events")
    assert (event.event_type, event.status) == ("contribution_created", "pending")
    body = json.loads(bytes(event.payload))
    (task_row,) = await api.sql("SELECT id FROM tasks")
    assert body["subject"]["metadata"]["task_id"] == uuid_text(task_row.id)
    assert body["subject"]["title"] == "Fix the well"
    assert body["actor"]["username"] == "budi"


async def _refused(api, who, variables, code, field):
    payload = (await api.gql(COMPLETE, {"input": variables}, who.token))["taskComplete"]
    assert payload["task"] is None
    assert payload["errors"] == [{"code": code, "path": input_path(field)}], variables


async def test_refused_completions_write_nothing(api):
    siti, budi, task = await _in_progress_task(api)
    task_id = task["id"]
    before = await api.table_counts()
    await _refused(api, budi, {"taskId": task_id}, "INVALID_TRANSITION", "taskId")  # not started
    await _refused(api, siti, {"taskId": task_id}, "FORBIDDEN", None)  # not the assignee
    assert await api.table_counts() == before

    await api.gql(START, {"t": task_id}, budi.token)
    before = await api.table_counts()
    await _refused(api, siti, {"taskId": task_id}, "FORBIDDEN", None)
    await _refused(api, budi, {"taskId": task_id, "title": "x" * 201}, "INVALID_INPUT", "title")
    await _refused(
        api, budi, {"taskId": task_id, "description": "x" * 2001}, "INVALID_INPUT", "description"
    )
    # 45 keys of the client's plus the task's own: more than the 50 of SPEC 4.
    await _refused(
        api,
        budi,
        {"taskId": task_id, "metadata": {f"k{i}": i for i in range(45)}},
        "INVALID_INPUT",
        "metadata",
    )
    assert await api.table_counts() == before
    assert before["webhook_events"] == 0


async def test_standalone_contribution(api):
    ayu = await register(api, "ayu")
    data = await api.gql(
        CONTRIBUTE,
        {
            "input": {
                "contributionType": "MENTORING",
                "title": "Mentored two volunteers",
                "skills": ["Teaching", "teaching"],
                "metadata": {"hours": 4},
            }
        },
        ayu.token,
    )
    assert data["contributionCreate"] == {
        "contribution": {
            "contributionType": "MENTORING",
            "title": "Mentored two volunteers",
            "skills": [{"name": "teaching"}],
            "metadata": {"hours": 4},
        },
        "errors": [],
    }
    (event,) = await api.sql("SELECT event_type, status, attempts FROM webhook_events")
    assert tuple(event) == ("contribution_created", "pending", 0)  # no Markov URL: it waits

    before = await api.table_counts()
    bad = [
        ({"title": ""}, "title"),
        ({"description": "x" * 2001}, "description"),
        ({"skills": [f"s{i}" for i in range(11)]}, "skills"),
        ({"metadata": {f"k{i}": i for i in range(51)}}, "metadata"),
        ({"evidenceUrl": "ftp://nope"}, "evidenceUrl"),
    ]
    for fields, field in bad:
        variables = {"input": {"contributionType": "CUSTOM", "title": "ok", **fields}}
        payload = (await api.gql(CONTRIBUTE, variables, ayu.token))["contributionCreate"]
        assert payload == {
            "contribution": None,
            "errors": [{"path": input_path(field), "code": "INVALID_INPUT"}],
        }, fields
    assert await api.table_counts() == before


async def test_contribution_queries(api):
    ayu = await register(api, "ayu")
    await api.gql(
        CONTRIBUTE, {"input": {"contributionType": "MENTORING", "title": "One"}}, ayu.token
    )
    await api.gql(CONTRIBUTE, {"input": {"contributionType": "CUSTOM", "title": "Two"}}, ayu.token)
    listing = await api.gql(
        "query($u: ID!) { contributions(first: 10, filter: {userId: $u,"
        " contributionType: CUSTOM}) { edges { node { id title } } } }",
        {"u": ayu.id},
        ayu.token,
    )
    (edge,) = listing["contributions"]["edges"]
    assert edge["node"]["title"] == "Two"
    one = await api.gql(
        "query($id: ID!) { contribution(id: $id) { title } }", {"id": edge["node"]["id"]}, ayu.token
    )
    assert one["contribution"] == {"title": "Two"}
    profile = await api.gql(
        '{ user(by: {username: "ayu"}) { contributions(first: 5) { edges { node { title } } } } }',
        token=ayu.token,
    )
    assert [e["node"]["title"] for e in profile["user"]["contributions"]["edges"]] == ["Two", "One"]
    audit = await api.sql("SELECT after FROM audit_log WHERE action = 'contribution.create'")
    assert sorted(json_value(row.after)["title"] for row in audit) == ["One", "Two"]


async def test_task_completions_come_from_task_complete_only(api):
    """contributionCreate cannot claim to be a task completion, nor carry the metadata that
    taskComplete writes: Markov would credit someone else's task."""
    await _in_progress_task(api)  # budi's task, in progress
    (task_row,) = await api.sql("SELECT id FROM tasks")
    dewi = await register(api, "dewi")
    before = await api.table_counts()
    forged = {
        "contributionType": "TASK_COMPLETION",
        "title": "Fixed the well",
        "metadata": {"task_id": uuid_text(task_row.id), "duration_hours": 9999},
    }
    payload = (await api.gql(CONTRIBUTE, {"input": forged}, dewi.token))["contributionCreate"]
    assert payload["contribution"] is None
    assert payload["errors"] == [
        {"path": input_path("contributionType"), "code": "INVALID_INPUT"},
        {"path": input_path("metadata.task_id"), "code": "INVALID_INPUT"},
        {"path": input_path("metadata.duration_hours"), "code": "INVALID_INPUT"},
    ]
    for key in ("location", "latitude", "longitude", "estimated_hours", "difficulty"):
        variables = {"input": {"contributionType": "CUSTOM", "title": "ok", "metadata": {key: 1}}}
        payload = (await api.gql(CONTRIBUTE, variables, dewi.token))["contributionCreate"]
        expected = [{"path": input_path(f"metadata.{key}"), "code": "INVALID_INPUT"}]
        assert payload["errors"] == expected, key
    assert await api.table_counts() == before
    assert before["webhook_events"] == 0


async def test_completion_durations_are_bounded(api):
    _, budi, task = await _in_progress_task(api)
    await api.gql(START, {"t": task["id"]}, budi.token)
    before = await api.table_counts()
    for hours in (9999, 168.01, 0, -1):
        await _refused(
            api,
            budi,
            {"taskId": task["id"], "durationHours": hours},
            "INVALID_INPUT",
            "durationHours",
        )
    assert await api.table_counts() == before
    # Without durationHours, the time since taskStart counts, up to the same bound.
    await api.sql("UPDATE tasks SET started_at = :at", at=datetime.now(UTC) - timedelta(days=30))
    data = await api.gql(COMPLETE, {"input": {"taskId": task["id"]}}, budi.token)
    assert data["taskComplete"]["errors"] == []
    assert data["taskComplete"]["contribution"]["metadata"]["duration_hours"] == 168
    (event,) = await api.sql("SELECT payload FROM webhook_events")
    assert json.loads(bytes(event.payload))["subject"]["metadata"]["duration_hours"] == 168
