"""The "floor for Python": the benchmark's task list with Starlette, asyncpg and json only.

POST /graphql answers, whatever the body, with the JSON that gotong-gql returns for

    { tasks(first: 50) { edges { node { id title status creator { username }
                                       assignee { username } skills { name } } } } }

in the same order (created_at desc, id desc), from one SQL statement on an asyncpg pool. There is
no GraphQL, no ORM and no token check: it is what the same answer costs with the thinnest Python
stack, served by the same uvicorn as the app (`bench/tasks_query.py` starts it).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gotong_bench \
        .venv/bin/python bench/plain_floor.py --port 8001
"""

from __future__ import annotations

import argparse
import base64
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAGE_SIZE = 50
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


def global_id(type_name: str, value: object) -> str:
    """A Relay global id, as Strawberry writes it: base64 of `Type:id`."""
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def task_node(row: asyncpg.Record) -> dict[str, Any]:
    assignee = row["assignee"]
    return {
        "id": global_id("Task", row["id"]),
        "title": row["title"],
        "status": row["status"].upper(),  # the GraphQL enum's names are the values upper-cased
        "creator": {"username": row["creator"]},
        "assignee": None if assignee is None else {"username": assignee},
        "skills": [{"name": name} for name in row["skills"]],
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

    async def tasks(request: Request) -> Response:
        await request.body()  # read the query like a real endpoint would, then ignore it
        rows = await request.app.state.pool.fetch(TASKS_SQL)
        payload = {"data": {"tasks": {"edges": [{"node": task_node(row)} for row in rows]}}}
        return Response(json.dumps(payload), media_type="application/json")

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/graphql", tasks, methods=["POST"])],
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
