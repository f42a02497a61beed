"""The parts of bench/webhook_delivery.py that run in the benchmark's own process: job queues
that stamp or drop what the unit of work sends, the one user, and the outbox and stub access."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from harness.cpu import BackendCpu, CpuWindow
from harness.processes import Process
from harness.runner import Run
from sqlalchemy import text

from gotong_gql.jobs import JobQueue
from gotong_gql.services import Services
from gotong_gql.uow import unit_of_work
from gotong_gql.user.models import User
from gotong_gql.webhook.outbox import write_event

EVENT_TYPE = "contribution_created"


class StampingJobQueue:
    """Passes jobs on, noting when each was sent: right after the unit of work's commit."""

    def __init__(self, inner: JobQueue) -> None:
        self.inner = inner
        self.committed: dict[str, float] = {}
        self.enqueued: dict[str, float] = {}

    async def send(self, name: str, *args: str, delay: float = 0.0) -> None:
        self.committed[args[0]] = time.time()
        await self.inner.send(name, *args, delay=delay)
        self.enqueued[args[0]] = time.time()

    async def close(self) -> None:
        await self.inner.close()


class NullJobQueue:
    """Drops every job: the events stay `pending`, as after a lost enqueue."""

    def __init__(self) -> None:
        self.dropped = 0

    async def send(self, name: str, *args: str, delay: float = 0.0) -> None:
        self.dropped += 1

    async def close(self) -> None:
        return None


class Bench:
    """What both measurements use: this process's Services, the user, the stub, the worker."""

    def __init__(self, run: Run, services: Services, stub: Process, stub_url: str) -> None:
        self.run, self.args, self.services = run, run.args, services
        self.stub, self.stub_url = stub, stub_url
        self.http = httpx.AsyncClient(timeout=60.0)
        self.user: User | None = None
        self.worker: Process | None = None
        self.postgres: BackendCpu | None = None

    async def sql(self, query: str) -> list[Any]:
        async with self.services.engine.connect() as connection:
            return list(await connection.execute(text(query)))

    async def statuses(self) -> dict[str, int]:
        found = await self.sql("SELECT status, count(*) FROM webhook_events GROUP BY status")
        return {status: count for status, count in found}

    async def stub_get(self, path: str) -> Any:
        response = await self.http.get(self.stub_url + path)
        response.raise_for_status()
        return response.json()

    async def clear_outbox(self) -> None:
        async with self.services.engine.begin() as connection:
            await connection.execute(text("TRUNCATE webhook_events CASCADE"))
        (await self.http.post(f"{self.stub_url}/_stub/reset")).raise_for_status()

    async def publish(self, label: str, first: int, count: int) -> list[str]:
        """`count` events in one unit of work; their ids."""
        assert self.user is not None
        async with (
            self.services.session_factory() as session,
            unit_of_work(
                session, self.services, actor_id=self.user.id, request_id=f"bench-{label}-{first}"
            ) as uow,
        ):
            events = [
                write_event(uow, EVENT_TYPE, self.user, subject(index))
                for index in range(first, first + count)
            ]
        return [event.event_id for event in events]

    def cpu(self) -> CpuWindow:
        assert self.worker is not None
        return CpuWindow({"worker": self.worker.pid, "stub": self.stub.pid}, self.postgres)


async def create_user(services: Services) -> User:
    user_id = uuid.uuid4()
    user = User(
        id=user_id,
        username="bench_contributor",
        email="bench_contributor@bench.example.org",
        password_hash="!unusable",  # nobody logs in; only id and username go into payloads
        markov_user_id=f"gotong_royong:{user_id}",
    )
    async with services.session_factory() as session:
        session.add(user)
        await session.commit()
    return user


def subject(index: int) -> dict[str, Any]:
    """A contribution_created subject shaped like the one contribution/service.py builds."""
    return {
        "contribution_id": str(uuid.uuid4()),
        "contribution_type": "documentation",
        "title": f"Wrote the river guide, part {index}",
        "description": "Twelve pages on the river clean-up: routes, tools, safety, contacts.",
        "evidence_url": None,
        "skill_ids": [str(uuid.uuid4()), str(uuid.uuid4())],
        "metadata": {"pages": 12, "bench_index": index},
    }
