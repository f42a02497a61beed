from __future__ import annotations

from typing import Any

from tests.helpers import (
    GRANT,
    TASK_FIELDS,
    create_task,
    create_user,
    input_path,
    json_value,
    register,
)

ASSIGN = (
    """
mutation($taskId: ID!, $assigneeId: ID!) {
  taskAssign(input: {taskId: $taskId, assigneeId: $assigneeId}) {
    task { %s } errors { path message code }
  }
}"""
    % TASK_FIELDS
)
START = (
    """
mutation($taskId: ID!) { taskStart(input: {taskId: $taskId}) {
  task { %s } errors { path message code } } }"""
    % TASK_FIELDS
)
CLAIM = """
mutation($taskId: ID!) { taskClaim(input: {taskId: $taskId}) {
  task { status assignee { username } } errors { path message code } } }"""
CANCEL = """
mutation($taskId: ID!, $reason: String) { taskCancel(input: {taskId: $taskId, reason: $reason}) {
  task { status assignee { username } } errors { path message code } } }"""
UPDATE = (
    """
mutation($input: TaskUpdateInput!) { taskUpdate(input: $input) {
  task { %s } errors { path message code } } }"""
    % TASK_FIELDS
)
HISTORY = """
query($id: ID!) { task(id: $id) {
  status
  assignments(first: 10) { edges { node { status user { username } assignedBy { username } } } }
  history(first: 20) { edges { node { action actor { username } before after } } }
} }"""


async def _snapshot(api) -> dict[str, Any]:
    """Everything a refused mutation must leave as it was."""
    return {
        "counts": await api.table_counts(),
        "tasks": sorted(
            tuple(row)
            for row in await api.sql("SELECT id, status, assignee_id, updated_at, title FROM tasks")
        ),
        "assignments": sorted(
            tuple(row) for row in await api.sql("SELECT id, status FROM task_assignments")
        ),
    }


async def test_task_lifecycle_walkthrough(api):
    admin = await create_user(api, "root", ["admin"])
    siti = await register(api, "siti")
    budi = await register(api, "budi")

    # An organizer is made by an admin; a contributor may not create tasks.
    refused = await api.gql(
        'mutation { taskCreate(input: {title: "x"}) { task { id } errors { code } } }',
        token=siti.token,
    )
    assert refused["taskCreate"] == {"task": None, "errors": [{"code": "FORBIDDEN"}]}
    granted = await api.gql(GRANT, {"userId": siti.id, "role": "ORGANIZER"}, admin.token)
    assert granted["accountRoleGrant"]["errors"] == []

    task = await create_task(
        api,
        siti,
        title="  Clean the river bank  ",
        description="Bring gloves",
        difficulty="EASY",
        location="Kali Code",
        latitude=-7.78,
        longitude=110.36,
        estimatedHours=3.5,
        skills=["Cleanup", "community service"],
        metadata={"volunteers": 5},
    )
    assert task == {
        "id": task["id"],
        "title": "Clean the river bank",
        "description": "Bring gloves",
        "status": "OPEN",
        "difficulty": "EASY",
        "location": "Kali Code",
        "latitude": -7.78,
        "longitude": 110.36,
        "estimatedHours": 3.5,
        "metadata": {"volunteers": 5},
        "creator": {"username": "siti"},
        "assignee": None,
        "skills": [{"name": "cleanup"}, {"name": "community-service"}],
        "completedAt": None,
    }

    assigned = (await api.gql(ASSIGN, {"taskId": task["id"], "assigneeId": budi.id}, siti.token))[
        "taskAssign"
    ]
    assert assigned["errors"] == []
    assert assigned["task"]["status"] == "ASSIGNED"
    assert assigned["task"]["assignee"] == {"username": "budi"}

    started = (await api.gql(START, {"taskId": task["id"]}, budi.token))["taskStart"]
    assert started["errors"] == []
    assert started["task"]["status"] == "IN_PROGRESS"

    other = await create_task(api, siti, title="Paint the mosque fence")
    cancelled = (await api.gql(CANCEL, {"taskId": other["id"], "reason": "no paint"}, siti.token))[
        "taskCancel"
    ]
    assert cancelled == {"task": {"status": "CANCELLED", "assignee": None}, "errors": []}

    history = (await api.gql(HISTORY, {"id": task["id"]}, budi.token))["task"]
    assert history["status"] == "IN_PROGRESS"
    assert [edge["node"] for edge in history["assignments"]["edges"]] == [
        {"status": "ACTIVE", "user": {"username": "budi"}, "assignedBy": {"username": "siti"}}
    ]
    entries = [edge["node"] for edge in history["history"]["edges"]]
    assert [(e["action"], e["actor"]["username"]) for e in entries] == [
        ("task.create", "siti"),
        ("task.assign", "siti"),
        ("task.start", "budi"),
    ]
    assert entries[0]["before"] is None
    assert entries[0]["after"]["skills"] == ["cleanup", "community-service"]
    assert entries[0]["after"]["status"] == "open"
    assert (entries[1]["before"]["status"], entries[1]["after"]["status"]) == ("open", "assigned")
    assert entries[1]["after"]["assignee_id"] is not None
    assert (entries[2]["before"]["status"], entries[2]["after"]["status"]) == (
        "assigned",
        "in_progress",
    )

    (cancel_entry,) = await api.sql("SELECT after FROM audit_log WHERE action = 'task.cancel'")
    after = json_value(cancel_entry.after)
    assert (after["status"], after["reason"]) == ("cancelled", "no paint")


async def test_illegal_transitions_and_wrong_users_change_nothing(api):
    siti = await create_user(api, "siti", ["organizer"])
    other_organizer = await create_user(api, "agus", ["organizer"])
    budi = await register(api, "budi")
    dewi = await register(api, "dewi")
    task = await create_task(api, siti, title="Fix the well")
    await api.gql(ASSIGN, {"taskId": task["id"], "assigneeId": budi.id}, siti.token)
    cancelled = await create_task(api, siti, title="Cancelled one")
    await api.gql(CANCEL, {"taskId": cancelled["id"]}, siti.token)

    before = await _snapshot(api)
    attempts = [
        (
            ASSIGN,
            {"taskId": task["id"], "assigneeId": dewi.id},
            other_organizer,
            "taskAssign",
            ("FORBIDDEN", None),
        ),
        (
            ASSIGN,
            {"taskId": task["id"], "assigneeId": dewi.id},
            budi,
            "taskAssign",
            ("FORBIDDEN", None),
        ),
        (
            ASSIGN,
            {"taskId": task["id"], "assigneeId": budi.id},
            siti,
            "taskAssign",
            ("INVALID_TRANSITION", "assigneeId"),
        ),
        (
            ASSIGN,
            {"taskId": cancelled["id"], "assigneeId": dewi.id},
            siti,
            "taskAssign",
            ("INVALID_TRANSITION", "taskId"),
        ),
        (
            ASSIGN,
            {"taskId": task["id"], "assigneeId": task["id"]},
            siti,
            "taskAssign",
            ("NOT_FOUND", "assigneeId"),
        ),
        (START, {"taskId": task["id"]}, dewi, "taskStart", ("FORBIDDEN", None)),
        (START, {"taskId": task["id"]}, siti, "taskStart", ("FORBIDDEN", None)),
        (START, {"taskId": cancelled["id"]}, budi, "taskStart", ("FORBIDDEN", None)),
        (CLAIM, {"taskId": task["id"]}, dewi, "taskClaim", ("INVALID_TRANSITION", "taskId")),
        (CLAIM, {"taskId": "bm9wZQ=="}, dewi, "taskClaim", ("NOT_FOUND", "taskId")),
        (CANCEL, {"taskId": task["id"]}, budi, "taskCancel", ("FORBIDDEN", None)),
        (CANCEL, {"taskId": cancelled["id"]}, siti, "taskCancel", ("INVALID_TRANSITION", "taskId")),
        (
            UPDATE,
            {"input": {"taskId": cancelled["id"], "title": "x"}},
            siti,
            "taskUpdate",
            ("INVALID_TRANSITION", "taskId"),
        ),
        (
            UPDATE,
            {"input": {"taskId": task["id"], "title": ""}},
            siti,
            "taskUpdate",
            ("INVALID_INPUT", "title"),
        ),
        (
            UPDATE,
            {"input": {"taskId": task["id"], "latitude": 91, "longitude": 0}},
            siti,
            "taskUpdate",
            ("INVALID_INPUT", "latitude"),
        ),
        (
            UPDATE,
            {"input": {"taskId": task["id"], "skills": [f"s{i}" for i in range(11)]}},
            siti,
            "taskUpdate",
            ("INVALID_INPUT", "skills"),
        ),
        (
            UPDATE,
            {"input": {"taskId": task["id"], "title": "mine"}},
            budi,
            "taskUpdate",
            ("FORBIDDEN", None),
        ),
    ]
    for document, variables, who, name, (code, field) in attempts:
        payload = (await api.gql(document, variables, who.token))[name]
        assert payload["task"] is None, (name, variables)
        assert [(e["code"], e["path"]) for e in payload["errors"]] == [(code, input_path(field))], (
            name,
            variables,
            payload["errors"],
        )
    assert await _snapshot(api) == before

    # Started by the assignee, it can no longer be started or claimed.
    await api.gql(START, {"taskId": task["id"]}, budi.token)
    again = (await api.gql(START, {"taskId": task["id"]}, budi.token))["taskStart"]
    assert again["errors"][0]["code"] == "INVALID_TRANSITION"


async def test_create_validation_writes_nothing(api):
    siti = await create_user(api, "siti", ["organizer"])
    before = await api.table_counts()
    cases = [
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "latitude": 10}, None),
        ({"title": "ok", "estimatedHours": -1}, "estimatedHours"),
        ({"title": "ok", "skills": [f"s{i}" for i in range(11)]}, "skills"),
        ({"title": "ok", "skills": ["  "]}, "skills.0"),
        ({"title": "ok", "metadata": {f"k{i}": i for i in range(51)}}, "metadata"),
    ]
    for fields, field in cases:
        data = await api.gql(
            "mutation($input: TaskCreateInput!) { taskCreate(input: $input) {"
            " task { id } errors { path code } } }",
            {"input": fields},
            siti.token,
        )
        assert data["taskCreate"] == {
            "task": None,
            "errors": [{"path": input_path(field), "code": "INVALID_INPUT"}],
        }, fields
    assert await api.table_counts() == before


async def test_claim_and_reassign_keep_history(api):
    siti = await create_user(api, "siti", ["organizer"])
    budi = await register(api, "budi")
    dewi = await register(api, "dewi")
    task = await create_task(api, siti, title="Fix the well")
    claimed = (await api.gql(CLAIM, {"taskId": task["id"]}, budi.token))["taskClaim"]
    assert claimed == {
        "task": {"status": "ASSIGNED", "assignee": {"username": "budi"}},
        "errors": [],
    }
    reassigned = (await api.gql(ASSIGN, {"taskId": task["id"], "assigneeId": dewi.id}, siti.token))[
        "taskAssign"
    ]
    assert reassigned["task"]["assignee"] == {"username": "dewi"}
    cancelled = (await api.gql(CANCEL, {"taskId": task["id"]}, siti.token))["taskCancel"]
    assert cancelled["errors"] == []
    history = (await api.gql(HISTORY, {"id": task["id"]}, siti.token))["task"]
    assert [
        (
            edge["node"]["status"],
            edge["node"]["user"]["username"],
            edge["node"]["assignedBy"]["username"],
        )
        for edge in history["assignments"]["edges"]
    ] == [("REASSIGNED", "budi", "budi"), ("CANCELLED", "dewi", "siti")]


async def test_update_changes_fields_and_skills(api):
    siti = await create_user(api, "siti", ["organizer"])
    task = await create_task(api, siti, title="Fix the well", skills=["masonry"])
    data = await api.gql(
        UPDATE,
        {
            "input": {
                "taskId": task["id"],
                "title": "Fix the village well",
                "skills": ["Plumbing"],
                "description": None,
            }
        },
        siti.token,
    )
    payload = data["taskUpdate"]
    assert payload["errors"] == []
    assert payload["task"]["title"] == "Fix the village well"
    assert payload["task"]["description"] == ""
    assert payload["task"]["skills"] == [{"name": "plumbing"}]
    (entry,) = await api.sql("SELECT before, after FROM audit_log WHERE action = 'task.update'")
    before, after = (json_value(value) for value in entry)
    assert (before["skills"], after["skills"]) == (["masonry"], ["plumbing"])
    assert (before["title"], after["title"]) == ("Fix the well", "Fix the village well")
