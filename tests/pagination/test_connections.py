"""Every connection besides `tasks` pages in its documented order, forwards and backwards, with
the same cursors both ways and the right totalCount. Rows are written straight to the database
with ties in every timestamp, so that the id has to break them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gotong_gql.audit.models import AuditLog
from gotong_gql.contribution.models import Contribution, Verification
from gotong_gql.evidence.models import Evidence
from gotong_gql.skill.models import Skill, UserSkill
from gotong_gql.task.models import Task, TaskAssignment
from gotong_gql.user.models import User
from gotong_gql.vouch.models import Vouch
from gotong_gql.webhook.models import WebhookEvent, WebhookFailure
from tests.helpers import create_user
from tests.pagination.helpers import ARGS, PAGE, VARS, add, both_ways, global_id, node_uuid
from tests.pagination.helpers import ordered as by

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TIES = [3, 1, 3, 2, 1, 3, 0]  # minutes after T0
PEOPLE = ["ayu", "budi", "citra", "dewi", "eko", "fajar"]
MASONRY = [(0.5, 2), (0.5, 2), (0.15, 1), (0.0, 0), (0.5, 3), (0.15, 1)]


def at(index: int) -> datetime:
    return T0 + timedelta(minutes=TIES[index % len(TIES)])


def newest_first(rows, stamp="created_at", id_descending=True):
    return by(rows, (lambda r: getattr(r, stamp), True), (lambda r: r.id, id_descending))


def oldest_first(rows, stamp="created_at"):
    return by(rows, (lambda r: getattr(r, stamp), False), (lambda r: r.id, False))


@pytest.fixture
async def world(api):
    root = await create_user(api, "root", ["admin"])
    people = [
        User(username=name, email=f"{name}@example.org", password_hash="-", markov_user_id=name)
        for name in PEOPLE
    ]
    await add(api, *people)
    users = {row.username: row.id for row in people}
    users["root"] = node_uuid(root.id)
    ayu, budi = users["ayu"], users["budi"]

    skills = [Skill(name=name) for name in ["weaving", "masonry", "cleanup", "zoning", "carpentry"]]
    masonry = skills[1]
    user_skills = [
        UserSkill(user_id=users[name], skill_id=masonry.id, proficiency=p, endorsements_count=e)
        for name, (p, e) in zip(PEOPLE, MASONRY, strict=True)
    ]
    tasks = [
        Task(creator_id=budi, assignee_id=ayu if i % 2 else None, title=f"t{i}", created_at=at(i))
        for i in range(7)
    ]
    history_of = tasks[0]
    assignments = [
        TaskAssignment(
            task_id=history_of.id, user_id=users[name], status="reassigned", assigned_at=at(i)
        )
        for i, name in enumerate(PEOPLE)
    ]
    history = [
        AuditLog(
            action="task.update",
            entity="task",
            entity_id=history_of.id,
            at=at(i),
            request_id=f"req-{i}",
            # Written behind the API, out of the audit chain (only paging is under test here).
            seq=10_000 + i,
            prev_hash="0" * 64,
            hash="0" * 64,
        )
        for i in range(7)
    ]
    contributions = [
        Contribution(
            user_id=ayu if i < 5 else budi,
            contribution_type="custom",
            title=f"c{i}",
            created_at=at(i),
        )
        for i in range(7)
    ]
    checked = contributions[0]
    verifications = [
        Verification(
            contribution_id=checked.id,
            verifier_id=users[name],
            outcome="approved",
            created_at=at(i),
        )
        for i, name in enumerate(PEOPLE[1:])
    ]
    evidence = [
        Evidence(
            contribution_id=checked.id,
            uploader_id=ayu,
            evidence_type="gps_verification",
            status="verified",
            created_at=at(i),
        )
        for i in range(5)
    ]
    vouches = [
        Vouch(voucher_id=users[name], vouchee_id=ayu, created_at=at(i))
        for i, name in enumerate(PEOPLE[1:])
    ] + [
        Vouch(voucher_id=ayu, vouchee_id=users[name], skill_id=masonry.id, created_at=at(i + 2))
        for i, name in enumerate(PEOPLE[2:])
    ]
    events = [
        WebhookEvent(
            event_id=f"evt_{i:016x}", event_type="vouch_submitted", payload=b"{}", created_at=at(i)
        )
        for i in range(7)
    ]
    failures = [
        WebhookFailure(
            event_id=event.event_id,
            event_type=event.event_type,
            payload=b"{}",
            created_at=at(i + 1),
        )
        for i, event in enumerate(events[:6])
    ]
    await add(
        api,
        *skills,
        *user_skills,
        *tasks,
        *assignments,
        *history,
        *contributions,
        *verifications,
        *evidence,
        *vouches,
        *events,
        *failures,
    )

    all_users = [(name, uid) for name, uid in users.items()]
    skilled = [(name, users[name], p, e) for name, (p, e) in zip(PEOPLE, MASONRY, strict=True)]
    name_of = {uid: name for name, uid in users.items()}
    the = {
        "users": [
            uid for _, uid in by(all_users, (lambda u: u[0], False), (lambda u: u[1], False))
        ],
        "users by skill": [
            row[1]
            for row in by(
                skilled,
                (lambda u: u[2], True),
                (lambda u: u[3], True),
                (lambda u: u[0], False),
                (lambda u: u[1], False),
            )
        ],
        "skills": [skill.id for skill in by(skills, (lambda s: s.name, False))],
        "contributions": [row.id for row in newest_first(contributions)],
        "vouches": [row.id for row in newest_first(vouches)],
        "webhookEvents": [row.event_id for row in newest_first(events, id_descending=False)],
        "webhookFailures": [row.event_id for row in newest_first(failures, id_descending=False)],
        "Task.assignments": [
            name_of[row.user_id] for row in oldest_first(assignments, "assigned_at")
        ],
        "Task.history": [row.request_id for row in oldest_first(history, "at")],
        "Contribution.evidence": [row.id for row in oldest_first(evidence)],
        "Contribution.verifications": [row.id for row in oldest_first(verifications)],
        "User.contributions": [row.id for row in newest_first(contributions) if row.user_id == ayu],
        "User.vouchesReceived": [row.id for row in newest_first(vouches) if row.vouchee_id == ayu],
        "User.vouchesGiven": [row.id for row in newest_first(vouches) if row.voucher_id == ayu],
        "User.tasksCreated": [row.id for row in newest_first(tasks)],
        "User.tasksAssigned": [row.id for row in newest_first(tasks) if row.assignee_id == ayu],
    }
    parents = {
        "Task": global_id("Task", history_of.id),
        "Contribution": global_id("Contribution", checked.id),
        "ayu": global_id("User", ayu),
        "budi": global_id("User", budi),
    }
    return root, the, parents


def by_id(node):
    return node_uuid(node["id"])


# name: (field with its arguments, node selection, identity, parent of a nested connection)
CASES = {
    "users": (f"users({ARGS})", "id", by_id, None),
    "users by skill": (f'users({ARGS}, filter: {{skill: "Masonry"}})', "id", by_id, None),
    "skills": (f"skills({ARGS})", "id", by_id, None),
    "contributions": (f"contributions({ARGS})", "id", by_id, None),
    "vouches": (f"vouches({ARGS})", "id", by_id, None),
    "webhookEvents": (f"webhookEvents({ARGS})", "eventId", lambda n: n["eventId"], None),
    "webhookFailures": (f"webhookFailures({ARGS})", "eventId", lambda n: n["eventId"], None),
    "Task.assignments": (
        f"assignments({ARGS})",
        "user { username }",
        lambda n: n["user"]["username"],
        "Task",
    ),
    "Task.history": (f"history({ARGS})", "requestId", lambda n: n["requestId"], "Task"),
    "Contribution.evidence": (f"evidence({ARGS})", "id", by_id, "Contribution"),
    "Contribution.verifications": (f"verifications({ARGS})", "id", by_id, "Contribution"),
    "User.contributions": (f"contributions({ARGS})", "id", by_id, "ayu"),
    "User.vouchesReceived": (f"vouchesReceived({ARGS})", "id", by_id, "ayu"),
    "User.vouchesGiven": (f"vouchesGiven({ARGS})", "id", by_id, "ayu"),
    "User.tasksCreated": (f"tasksCreated({ARGS})", "id", by_id, "budi"),
    "User.tasksAssigned": (f"tasksAssigned({ARGS})", "id", by_id, "ayu"),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_connection_pages_in_its_order(api, world, name):
    root, the, parents = world
    field, selection, identity, parent = CASES[name]
    connection = f"{field} {{ {PAGE % selection} }}"
    if parent is None:
        query, path = f"query({VARS}) {{ {connection} }}", [field.split("(")[0]]
    else:
        type_name = "User" if parent in ("ayu", "budi") else parent
        query = (
            f"query({VARS}, $p: ID!) {{ node(id: $p) {{ ... on {type_name} {{ {connection} }} }} }}"
        )
        path = ["node", field.split("(")[0]]
    wanted = the[name]
    assert len(wanted) >= 3

    async def total() -> int:
        return len(wanted)

    for size in (1, 3, len(wanted) + 1):
        keys = await both_ways(
            api,
            root.token,
            query,
            path,
            size=size,
            identity=identity,
            variables={"p": parents.get(parent)} if parent else {},
            total=total,
        )
        assert keys == wanted, (name, size)
