"""The three read queries, as each server is asked them, and how their answers are compared.

This is the one place to adapt when the schema changes (issue 12: `user(by: {username})`,
nested connections, enums, the DateTime form): the gotong-gql documents below are written
against today's schema. The floor (bench/plain_floor.py) answers in gotong-gql's shape and picks
its statement by `operationName`, so it needs the same names.

Answers are compared after `canonical()`: global ids decoded to the row's uuid, enum names
lower-cased, times parsed, and the nested lists whose order PostGraphile cannot be asked for
(task skills by name, user skills by proficiency) sorted. Every connection must list the same
items in the same order.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from readpath.seed import Seeded

TASK_LIST = """query TaskList { tasks(first: 50) { edges { node { id title status
  creator { username } assignee { username } skills { name } } } } }"""
TASK_LIST_PG = """query TaskList { allTasks(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
  nodes { id title status userByCreatorId { username } userByAssigneeId { username }
  taskSkillsByTaskId { nodes { skillBySkillId { name } } } } } }"""

PROFILE = """query Profile($username: String!) { user(by: {username: $username}) {
  id username bio location createdAt
  skills { proficiency endorsementsCount skill { name } }
  contributions(first: 20) { edges { node { id title contributionType verificationStatus
    createdAt } } }
  vouchesReceived(first: 20) { edges { node { id weightHint message createdAt
    voucher { username } skill { name } } } } } }"""
PROFILE_PG = """query Profile($username: String!) { userByUsername(username: $username) {
  id username bio location createdAt
  userSkillsByUserId { nodes { proficiency endorsementsCount skillBySkillId { name } } }
  contributionsByUserId(first: 20, orderBy: [ROW_ID_DESC]) { nodes { id title contributionType
    verificationStatus createdAt } }
  vouchesByVoucheeId(first: 20, orderBy: [ROW_ID_DESC]) { nodes { id weightHint message
    createdAt userByVoucherId { username } skillBySkillId { name } } } } }"""

TASK_DETAIL = """query TaskDetail($id: ID!) { task(id: $id) {
  id title description status difficulty estimatedHours createdAt completedAt
  creator { username } assignee { username } skills { name }
  assignments(first: 20) { edges { node { status assignedAt completedAt user { username }
    assignedBy { username } } } }
  history(first: 20) { edges { node { action at after actor { username } } } } } }"""
# The audit log has no foreign key to tasks (it records every entity), so PostGraphile reads the
# history with a second root field of the same request.
TASK_DETAIL_PG = """query TaskDetail($id: UUID!) { taskByRowId(rowId: $id) {
  id title description status difficulty estimatedHours createdAt completedAt
  userByCreatorId { username } userByAssigneeId { username }
  taskSkillsByTaskId { nodes { skillBySkillId { name } } }
  taskAssignmentsByTaskId(first: 20, orderBy: [ROW_ID_ASC]) { nodes { status assignedAt
    completedAt userByUserId { username } userByAssignedById { username } } } }
  allAuditLogs(first: 20, condition: {entity: "task", entityId: $id},
    orderBy: [AT_ASC, ROW_ID_ASC]) { nodes { action at after userByActorId { username } } } }"""


def global_id(type_name: str, value: uuid.UUID) -> str:
    """gotong-gql's global id (Strawberry's relay form): base64 of `Type:uuid`."""
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def row_id(value: str) -> str:
    """The uuid in a global id: gotong-gql's `Type:uuid` or PostGraphile's `["Type", "uuid"]`."""
    decoded = base64.b64decode(value).decode()
    return json.loads(decoded)[-1] if decoded.startswith("[") else decoded.split(":", 1)[1]


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def name(value: str | None) -> str | None:
    """An enum name (gotong-gql) or the stored value (PostGraphile), as the stored value."""
    return None if value is None else value.lower()


def username(user: dict[str, Any] | None) -> str | None:
    return None if user is None else user["username"]


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    """A connection's nodes, whether asked as `edges { node }` or as `nodes`."""
    if "nodes" in connection:
        return connection["nodes"]
    return [edge["node"] for edge in connection["edges"]]


def pick(row: dict[str, Any], *names: str) -> Any:
    """The field that one of the servers names `names[i]` (gotong-gql's name first)."""
    return next(row[name] for name in names if name in row)


def task_item(task: dict[str, Any], skills: list[str]) -> dict[str, Any]:
    return {
        "id": row_id(task["id"]),
        "title": task["title"],
        "status": name(task["status"]),
        "creator": username(pick(task, "creator", "userByCreatorId")),
        "assignee": username(pick(task, "assignee", "userByAssigneeId")),
        "skills": sorted(skills),
    }


def task_list(data: dict[str, Any]) -> dict[str, Any]:
    if "tasks" in data:
        tasks = [(t, [s["name"] for s in t["skills"]]) for t in nodes(data["tasks"])]
    else:
        tasks = [
            (t, [s["skillBySkillId"]["name"] for s in nodes(t["taskSkillsByTaskId"])])
            for t in nodes(data["allTasks"])
        ]
    return {"tasks": [task_item(task, skills) for task, skills in tasks]}


def profile(data: dict[str, Any]) -> dict[str, Any]:
    user = pick(data, "user", "userByUsername")
    skills = pick(user, "skills", "userSkillsByUserId")
    return {
        "user": {
            "id": row_id(user["id"]),
            "username": user["username"],
            "bio": user["bio"],
            "location": user["location"],
            "createdAt": when(user["createdAt"]),
        },
        # PostGraphile cannot order a user's skills by proficiency: sorted here.
        "skills": sorted(
            (
                {
                    "proficiency": skill["proficiency"],
                    "name": pick(skill, "skill", "skillBySkillId")["name"],
                    "endorsements": skill["endorsementsCount"],
                }
                for skill in (skills if isinstance(skills, list) else nodes(skills))
            ),
            key=lambda skill: (-skill["proficiency"], skill["name"]),
        ),
        "contributions": [
            {
                "id": row_id(item["id"]),
                "title": item["title"],
                "type": name(item["contributionType"]),
                "status": name(item["verificationStatus"]),
                "createdAt": when(item["createdAt"]),
            }
            for item in nodes(pick(user, "contributions", "contributionsByUserId"))
        ],
        "vouches": [
            {
                "id": row_id(item["id"]),
                "weight": name(item["weightHint"]),
                "message": item["message"],
                "createdAt": when(item["createdAt"]),
                "voucher": username(pick(item, "voucher", "userByVoucherId")),
                "skill": (pick(item, "skill", "skillBySkillId") or {}).get("name"),
            }
            for item in nodes(pick(user, "vouchesReceived", "vouchesByVoucheeId"))
        ],
    }


def task_detail(data: dict[str, Any]) -> dict[str, Any]:
    task = pick(data, "task", "taskByRowId")
    if "skills" in task:
        skills = [skill["name"] for skill in task["skills"]]
        history = nodes(task["history"])
    else:
        skills = [s["skillBySkillId"]["name"] for s in nodes(task["taskSkillsByTaskId"])]
        history = nodes(data["allAuditLogs"])
    return {
        "task": task_item(task, skills)
        | {
            "description": task["description"],
            "difficulty": name(task["difficulty"]),
            "estimatedHours": task["estimatedHours"],
            "createdAt": when(task["createdAt"]),
            "completedAt": when(task["completedAt"]),
        },
        "assignments": [
            {
                "status": name(item["status"]),
                "assignedAt": when(item["assignedAt"]),
                "completedAt": when(item["completedAt"]),
                "user": username(pick(item, "user", "userByUserId")),
                "assignedBy": username(pick(item, "assignedBy", "userByAssignedById")),
            }
            for item in nodes(pick(task, "assignments", "taskAssignmentsByTaskId"))
        ],
        "history": [
            {
                "action": item["action"],
                "at": when(item["at"]),
                "after": item["after"],
                "actor": username(pick(item, "actor", "userByActorId")),
            }
            for item in history
        ],
    }


def difference(left: Any, right: Any, path: str = "data") -> str | None:
    """Where two canonical answers first differ, or None."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(left.keys() | right.keys()):
            if key not in left or key not in right:
                return f"{path}.{key}: present on one side only"
            found = difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        if len(left) != len(right):
            return f"{path}: {len(left)} items against {len(right)}"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if left == right else f"{path}: {left!r} against {right!r}"


@dataclass(frozen=True)
class ReadQuery:
    name: str  # the operation's name, and the floor's switch
    title: str  # in the report
    gotong: str  # gotong-gql's document (the floor gets the same request)
    postgraphile: str
    variables: Callable[[Seeded], dict[str, Any]]  # gotong-gql's and the floor's
    postgraphile_variables: Callable[[Seeded], dict[str, Any]]
    canonical: Callable[[dict[str, Any]], dict[str, Any]]  # the `data` of any of the three
    sizes: Callable[[Seeded], dict[str, int]]  # lists of the canonical answer: their lengths

    def body(self, server: str, seeded: Seeded) -> dict[str, Any]:
        """The JSON request body for `server` (gotong, postgraphile or floor)."""
        if server == "postgraphile":
            query, variables = self.postgraphile, self.postgraphile_variables(seeded)
        else:
            query, variables = self.gotong, self.variables(seeded)
        return {"query": query, "variables": variables, "operationName": self.name}


QUERIES = (
    ReadQuery(
        "TaskList",
        "task list: tasks(first: 50) with creator, assignee, skills",
        TASK_LIST,
        TASK_LIST_PG,
        lambda seeded: {},
        lambda seeded: {},
        task_list,
        lambda seeded: {"tasks": 50},
    ),
    ReadQuery(
        "Profile",
        "profile: a user with skills, 20 contributions, 20 vouches received",
        PROFILE,
        PROFILE_PG,
        lambda seeded: {"username": seeded.profile_username},
        lambda seeded: {"username": seeded.profile_username},
        profile,
        lambda seeded: {"contributions": 20, "vouches": 20},
    ),
    ReadQuery(
        "TaskDetail",
        "task detail: a task with its assignments and history",
        TASK_DETAIL,
        TASK_DETAIL_PG,
        lambda seeded: {"id": global_id("Task", seeded.detail_task_id)},
        lambda seeded: {"id": str(seeded.detail_task_id)},
        task_detail,
        lambda seeded: {name: min(20, count) for name, count in seeded.detail_sizes.items()},
    ),
)
