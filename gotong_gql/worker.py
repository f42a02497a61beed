"""`gotong-gql worker`: runs the Dramatiq actors (by the names in jobs.py), the sweeper and the
hourly log of the audit chains' heads (audit/verify.py).

Actors are async: Dramatiq's AsyncIO middleware runs them on one event loop per process, which
also runs the periodic outbox sweeper. Dramatiq's own retries are off (max_retries=0): delivery
state and attempts live in the database, and the sweeper re-sends what a crash left behind.

On SIGTERM (or SIGINT) the worker takes no new job, gives the jobs in progress up to
SHUTDOWN_TIMEOUT_SECONDS to finish (Dramatiq requeues the messages it had fetched but not
started), and only then closes its clients. A job still running past the bound is released,
not failed: the process exits without acknowledging its message, which Redis hands to another
worker once this one's heartbeat has expired, and the event it was delivering stays leased
until the sweeper of another worker takes it over (nothing recorded, so no attempt is burnt).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread

from gotong_gql.audit.verify import log_checkpoints_forever
from gotong_gql.jobs import QUEUE, Handler, create_broker, job_handlers
from gotong_gql.services import Services
from gotong_gql.settings import Settings
from gotong_gql.webhook.service import sweep_forever
from gotong_gql.worker_health import create_health_server

log = logging.getLogger(__name__)


def _actor_function(
    handler: Handler, services: Services
) -> Callable[..., Coroutine[Any, Any, None]]:
    async def run(*args: str) -> None:
        await handler(services, *args)

    run.__name__ = handler.__name__
    return run


def _report_health_server_exit(future: Any) -> None:
    if future.cancelled() or future.exception() is None:
        return
    log.error("the worker's health server stopped: %r", future.exception())


class _CloseWhenIdle(dramatiq.Middleware):
    """Closes the clients once the worker threads have stopped; added after the AsyncIO
    middleware, so that this runs first (after-hooks run in reverse), on a loop still running.
    Left open when a job outlived the bound: it is still using them until the process exits."""

    def __init__(self, services: Services, bound: float) -> None:
        self.services, self.bound = services, bound
        self.jobs_left = 0

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.jobs_left = sum(thread.is_alive() for thread in worker.workers)
        if self.jobs_left:
            log.warning(
                "%d job(s) still running after %g s: left to another worker",
                self.jobs_left,
                self.bound,
            )
            return
        loop = get_event_loop_thread().loop
        asyncio.run_coroutine_threadsafe(self.services.close(), loop).result(timeout=10)


def register_actors(broker: dramatiq.Broker, services: Services) -> None:
    for name, handler in job_handlers().items():
        dramatiq.Actor(
            _actor_function(handler, services),
            broker=broker,
            actor_name=name,
            queue_name=QUEUE,
            priority=0,
            options={"max_retries": 0},
        )


def run(settings: Settings, threads: int, *, serve_health: bool = True) -> None:
    """Serve jobs until SIGTERM or SIGINT; with `serve_health`, also /healthz, /readyz and
    /metrics on WORKER_METRICS_PORT (one process per host may hold that port)."""
    if not settings.redis_url:
        raise SystemExit("the worker needs REDIS_URL (without it, jobs run inside the API process)")
    broker = create_broker(settings.redis_url)
    services = Services.create(settings)
    register_actors(broker, services)
    closer = _CloseWhenIdle(services, settings.shutdown_timeout_seconds)
    broker.add_middleware(closer)
    # worker_timeout: how long an idle consumer waits for messages (ms); Dramatiq's default of
    # 1 s would add up to a second to the delivery of an event that arrives after a quiet spell.
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.start()
    loop = get_event_loop_thread().loop
    sweeper = asyncio.run_coroutine_threadsafe(sweep_forever(services), loop)
    checkpoints = asyncio.run_coroutine_threadsafe(
        log_checkpoints_forever(
            services.session_factory, settings.audit_checkpoint_interval_seconds
        ),
        loop,
    )
    health = create_health_server(services) if serve_health else None
    serving = asyncio.run_coroutine_threadsafe(health.serve(), loop) if health else None
    if serving is not None:
        serving.add_done_callback(_report_health_server_exit)
    log.info("worker started: %d threads on queue %r", threads, QUEUE)
    try:
        stop.wait()
    finally:
        log.info("worker stopping: jobs in progress get %g s", settings.shutdown_timeout_seconds)
        sweeper.cancel()
        checkpoints.cancel()
        if health is not None:
            health.should_exit = True
            with contextlib.suppress(BaseException):
                serving.result(timeout=5)
        worker.stop(timeout=int(settings.shutdown_timeout_seconds * 1000))
        broker.close()
        log.info("worker stopped")
        if closer.jobs_left:
            # Their threads, and the clients they hold open (aiosqlite's threads among them),
            # would keep the interpreter from exiting until the jobs ended: leave now.
            logging.shutdown()
            os._exit(0)
