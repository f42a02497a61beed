"""The "floor for Python": the read benchmarks' queries with Starlette, asyncpg and json only.

POST /graphql answers the three queries of bench/readpath/queries.py, chosen by the request's
`operationName` (TaskList, Profile, TaskDetail), with the JSON gotong-gql returns for them today
(same global ids, enum names, times and order), each from one SQL statement on an asyncpg pool.
There is no GraphQL, no ORM and no token check: it is what the same answers cost with the
thinnest Python stack, served by the same uvicorn as the app (the benchmarks start it).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gotong_bench \
        .venv/bin/python bench/plain_floor.py --port 8001
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAGE_SIZE = 50
NESTED_PAGE = 20
# The app's pool: DATABASE_POOL_SIZE (10) plus as many overflow connections.
POOL_MIN, POOL_MAX = 10, 20

# The page first (the same order as the app), then its users and skills. No parameters: the
# statement is planned once when asyncpg prepares it, not again on every execution.
TASKS_SQL = f"""
WITH page AS (
    SELECT id, title, status, creator_id, assignee_id, created_at FROM tasks
    ORDER BY created_at DESC NULLS LAST, id DESC
    LIMIT {PAGE_SIZE:d}
), page_skills AS (
    SELECT ts.task_id, array_agg(s.name ORDER BY s.name) AS names
    FROM task_skills ts JOIN skills s ON s.id = ts.skill_id
    WHERE ts.task_id IN (SELECT id FROM page)
    GROUP BY ts.task_id
)
SELECT t.id, t.title, t.status, c.username AS creator, a.username AS assignee,
       coalesce(ps.names, '{{}}') AS skills
FROM page t
JOIN users c ON c.id = t.creator_id
LEFT JOIN users a ON a.id = t.assignee_id
LEFT JOIN page_skills ps ON ps.task_id = t.id
ORDER BY t.created_at DESC NULLS LAST, t.id DESC
"""

# The nested lists come back as arrays of records (asyncpg decodes them to tuples), in the
# app's orders: skills by proficiency then name, contributions and vouches newest first.
PROFILE_SQL = f"""
SELECT u.id, u.username, u.bio, u.location, u.created_at,
    ARRAY(SELECT ROW(s.name, us.proficiency, us.endorsements_count)
          FROM user_skills us JOIN skills s ON s.id = us.skill_id
          WHERE us.user_id = u.id ORDER BY us.proficiency DESC, s.name) AS skills,
    ARRAY(SELECT ROW(c.id, c.title, c.contribution_type, c.verification_status, c.created_at)
          FROM contributions c WHERE c.user_id = u.id
          ORDER BY c.created_at DESC, c.id DESC LIMIT {NESTED_PAGE:d}) AS contributions,
    ARRAY(SELECT ROW(v.id, v.weight_hint, v.message, v.created_at, w.username, s.name)
          FROM vouches v JOIN users w ON w.id = v.voucher_id
          LEFT JOIN skills s ON s.id = v.skill_id WHERE v.vouchee_id = u.id
          ORDER BY v.created_at DESC, v.id DESC LIMIT {NESTED_PAGE:d}) AS vouches
FROM users u WHERE u.username = $1
"""

# Assignments and the audit trail oldest first, as the app lists them.
TASK_DETAIL_SQL = f"""
SELECT t.id, t.title, t.description, t.status, t.difficulty, t.estimated_hours, t.created_at,
    t.completed_at, c.username AS creator, a.username AS assignee,
    ARRAY(SELECT s.name FROM task_skills ts JOIN skills s ON s.id = ts.skill_id
          WHERE ts.task_id = t.id ORDER BY s.name) AS skills,
    ARRAY(SELECT ROW(ta.status, ta.assigned_at, ta.completed_at, u.username, b.username)
          FROM task_assignments ta JOIN users u ON u.id = ta.user_id
          LEFT JOIN users b ON b.id = ta.assigned_by_id WHERE ta.task_id = t.id
          ORDER BY ta.assigned_at, ta.id LIMIT {NESTED_PAGE:d}) AS assignments,
    ARRAY(SELECT ROW(l.action, l.at, l.after, x.username)
          FROM audit_log l LEFT JOIN users x ON x.id = l.actor_id
          WHERE l.entity = 'task' AND l.entity_id = t.id
          ORDER BY l.at, l.id LIMIT {NESTED_PAGE:d}) AS history
FROM tasks t JOIN users c ON c.id = t.creator_id LEFT JOIN users a ON a.id = t.assignee_id
WHERE t.id = $1
"""


def global_id(type_name: str, value: object) -> str:
    """A Relay global id, as Strawberry writes it: base64 of `Type:id`."""
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def task_uuid(value: str) -> uuid.UUID | None:
    try:
        type_name, _, key = base64.b64decode(value).decode().partition(":")
        return uuid.UUID(key) if type_name == "Task" else None
    except ValueError:
        return None


def enum(value: str | None) -> str | None:
    """The GraphQL enums' names are the stored values upper-cased."""
    return None if value is None else value.upper()


def time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def user(username: str | None) -> dict[str, str] | None:
    return None if username is None else {"username": username}


def edges(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"edges": [{"node": node} for node in nodes]}


def task_node(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": global_id("Task", row["id"]),
        "title": row["title"],
        "status": enum(row["status"]),
        "creator": user(row["creator"]),
        "assignee": user(row["assignee"]),
        "skills": [{"name": name} for name in row["skills"]],
    }


async def task_list(pool: asyncpg.Pool, variables: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": edges([task_node(row) for row in await pool.fetch(TASKS_SQL)])}


async def profile(pool: asyncpg.Pool, variables: dict[str, Any]) -> dict[str, Any]:
    row = await pool.fetchrow(PROFILE_SQL, str(variables.get("username")))
    if row is None:
        return {"user": None}
    contributions = [
        {
            "id": global_id("Contribution", key),
            "title": title,
            "contributionType": enum(kind),
            "verificationStatus": enum(status),
            "createdAt": time(created),
        }
        for key, title, kind, status, created in row["contributions"]
    ]
    vouches = [
        {
            "id": global_id("Vouch", key),
            "weightHint": enum(weight),
            "message": message,
            "createdAt": time(created),
            "voucher": user(voucher),
            "skill": None if skill is None else {"name": skill},
        }
        for key, weight, message, created, voucher, skill in row["vouches"]
    ]
    return {
        "user": {
            "id": global_id("User", row["id"]),
            "username": row["username"],
            "bio": row["bio"],
            "location": row["location"],
            "createdAt": time(row["created_at"]),
            "skills": [
                {"proficiency": level, "endorsementsCount": count, "skill": {"name": name}}
                for name, level, count in row["skills"]
            ],
            "contributions": edges(contributions),
            "vouchesReceived": edges(vouches),
        }
    }


async def task_detail(pool: asyncpg.Pool, variables: dict[str, Any]) -> dict[str, Any]:
    key = task_uuid(str(variables.get("id")))
    row = None if key is None else await pool.fetchrow(TASK_DETAIL_SQL, key)
    if row is None:
        return {"task": None}
    assignments = [
        {
            "status": enum(status),
            "assignedAt": time(assigned),
            "completedAt": time(completed),
            "user": user(assignee),
            "assignedBy": user(assigner),
        }
        for status, assigned, completed, assignee, assigner in row["assignments"]
    ]
    history = [
        {
            "action": action,
            "at": time(at),
            "after": None if after is None else json.loads(after),
            "actor": user(actor),
        }
        for action, at, after, actor in row["history"]
    ]
    return {
        "task": task_node(row)
        | {
            "description": row["description"],
            "difficulty": enum(row["difficulty"]),
            "estimatedHours": row["estimated_hours"],
            "createdAt": time(row["created_at"]),
            "completedAt": time(row["completed_at"]),
            "assignments": edges(assignments),
            "history": edges(history),
        }
    }


Answer = Callable[[asyncpg.Pool, dict[str, Any]], Awaitable[dict[str, Any]]]
OPERATIONS: dict[str, Answer] = {
    "TaskList": task_list,
    "Profile": profile,
    "TaskDetail": task_detail,
}


def asyncpg_dsn(url: str) -> str:
    """Accept the app's SQLAlchemy URL (postgresql+asyncpg://...) as well as a plain DSN."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def create_app(database_url: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            asyncpg_dsn(database_url), min_size=POOL_MIN, max_size=POOL_MAX
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def graphql(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            answer = OPERATIONS[body["operationName"]]
        except (ValueError, KeyError, TypeError):
            message = f"operationName must be one of {', '.join(OPERATIONS)}"
            return JSONResponse({"errors": [{"message": message}]}, status_code=400)
        data = await answer(request.app.state.pool, body.get("variables") or {})
        return Response(json.dumps({"data": data}), media_type="application/json")

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/graphql", graphql, methods=["POST"])],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        parser.error("DATABASE_URL is not set")
    # The same server settings as `gotong-gql serve` (which also leaves the access log on).
    uvicorn.run(create_app(database_url), host=args.host, port=args.port, proxy_headers=True)


if __name__ == "__main__":
    main()
