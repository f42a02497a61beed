"""Background jobs, sent by name after commit. Jobs carry ids, never objects, and are idempotent.

With REDIS_URL set, jobs go to Dramatiq's Redis broker and a `gotong-gql worker` process runs
them. Without it (the embedded mode), they run as asyncio tasks inside the API process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware.asyncio import AsyncIO

if TYPE_CHECKING:
    from gotong_gql.services import Services

log = logging.getLogger(__name__)
QUEUE = "default"
DRAMATIQ_NAMESPACE = "gotong-gql"

Handler = Callable[..., Awaitable[None]]


def job_handlers() -> dict[str, Handler]:
    """Every job by its actor name. Each handler takes (services, *ids)."""
    from gotong_gql.evidence.service import process_evidence
    from gotong_gql.webhook.delivery import deliver_webhook

    return {"deliver_webhook": deliver_webhook, "process_evidence": process_evidence}


class JobQueue(Protocol):
    async def send(self, name: str, *args: str, delay: float = 0.0) -> None: ...

    async def close(self) -> None: ...


class InProcessJobQueue:
    """The embedded mode's queue: jobs run as tasks on this process's event loop."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._handlers = job_handlers()
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, name: str, *args: str, delay: float = 0.0) -> None:
        handler = self._handlers[name]
        task = asyncio.create_task(self._run(handler, name, args, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, name: str, args: tuple[str, ...], delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await handler(self._services, *args)
        except Exception:
            log.exception("job %s%r failed", name, args)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def create_broker(redis_url: str, namespace: str = DRAMATIQ_NAMESPACE) -> RedisBroker:
    broker = RedisBroker(url=redis_url, namespace=namespace)
    broker.add_middleware(AsyncIO())
    return broker


class DramatiqJobQueue:
    """Jobs for the worker processes, through Dramatiq's Redis broker (by actor name)."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker

    async def send(self, name: str, *args: str, delay: float = 0.0) -> None:
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=QUEUE, actor_name=name, args=args, kwargs={}, options={}
        )
        milliseconds = int(delay * 1000) or None
        await asyncio.to_thread(self._broker.enqueue, message, delay=milliseconds)

    async def close(self) -> None:
        await asyncio.to_thread(self._broker.close)
