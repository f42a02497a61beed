"""Benchmark: SPEC 4 webhook delivery to the Markov Engine, from commit to the receiver.

    .venv/bin/python bench/webhook_delivery.py [--events 300] [--rate 20] [--backlog 10000]

Creates a fresh PostgreSQL database, migrates it and adds one user, flushes Redis DB 14, and
starts `gotong-gql markov-stub` and `gotong-gql worker --threads 8` as subprocesses on 127.0.0.1.
Then two measurements:

1. latency: --events `contribution_created` events at --rate per second, one unit of work each,
   through `webhook.outbox.publish` (the commit, then the delivery job to Redis), and the time
   from each commit to the stub receiving the request (its `received_at`); then the same for
   --sparse-events at --sparse-rate (an idle worker between events);
2. backlog: the worker stopped, --backlog pending events stored without enqueuing their jobs, the
   worker started again with WEBHOOK_PENDING_GRACE_SECONDS=0 and WEBHOOK_SWEEP_INTERVAL_SECONDS=1
   (its sweeper sends them), and the time until all of them are `delivered`.

Prints a markdown table and writes bench/results/webhook_delivery.json. The processes are stopped,
Redis DB 14 flushed and the database dropped at the end, also after an error. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from common import (
    BENCH_DIR,
    REPO_DIR,
    cpu_seconds,
    database_url,
    free_port,
    git_state,
    log,
    machine_busy_seconds,
    percentile,
    pg_admin,
    venv_script,
)
from sqlalchemy import text

from gotong_gql import migrate
from gotong_gql.jobs import DRAMATIQ_NAMESPACE, QUEUE, JobQueue
from gotong_gql.services import Services
from gotong_gql.settings import Settings
from gotong_gql.uow import unit_of_work
from gotong_gql.user.models import User
from gotong_gql.webhook.outbox import publish
from gotong_gql.webhook.service import SWEEP_BATCH

RESULTS_FILE = BENCH_DIR / "results" / "webhook_delivery.json"

REDIS_URL = os.environ.get("GOTONG_BENCH_REDIS", "redis://127.0.0.1:6379/14")
QUEUE_KEY = f"{DRAMATIQ_NAMESPACE}:{QUEUE}"  # the Redis list of waiting message ids
EVENT_TYPE = "contribution_created"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.5
QUIET_CORES = 0.3  # other processes' CPU use above which the machine is not quiet
# The latency phase runs on the production schedule; the backlog phase lets the sweeper send
# every overdue pending event at once, every second.
LATENCY_TIMINGS = {
    "WEBHOOK_TIMEOUT_SECONDS": "10",
    "WEBHOOK_BACKOFF_BASE_SECONDS": "1",
    "WEBHOOK_MAX_ATTEMPTS": "5",
    "WEBHOOK_LEASE_SECONDS": "30",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "5",
    "WEBHOOK_PENDING_GRACE_SECONDS": "30",
}
BACKLOG_TIMINGS = {
    **LATENCY_TIMINGS,
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
    "WEBHOOK_PENDING_GRACE_SECONDS": "0",
}
SWEEP_LINE = re.compile(r"sweeper re-sent (\d+) events")
ATTEMPT_LINE = re.compile(r"webhook evt_[0-9a-f]+ attempt \d+: (\w+)")


# --- database, Redis ----------------------------------------------------------------------------


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


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


async def scalar(services: Services, sql: str, **params: Any) -> Any:
    async with services.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def rows(services: Services, sql: str, **params: Any) -> list[Any]:
    async with services.engine.connect() as connection:
        return list(await connection.execute(text(sql), params))


async def status_counts(services: Services) -> dict[str, int]:
    found = await rows(services, "SELECT status, count(*) FROM webhook_events GROUP BY status")
    return {status: count for status, count in found}


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


# --- job queues wrapped in this process -------------------------------------------------------


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


# --- processes ----------------------------------------------------------------------------------


def postgres_cpu_seconds(database: str) -> float | None:
    """CPU time of the PostgreSQL backends serving `database` (their title names it)."""
    total, marker = 0.0, f" {database} ".encode()
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") and marker in title:
            total += cpu_seconds(int(entry.name)) or 0.0
    return total


@dataclass
class Child:
    """One `gotong-gql <command>` subprocess, its output appended to a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = 0
    spawned_at: float = 0.0  # wall clock
    ready_at: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def output(self) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(self.log_offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def start(self, *, ready_line: str | None = None, ready_url: str | None = None) -> None:
        """Spawns the process and waits until its log shows ready_line or ready_url answers."""
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [venv_script("gotong-gql"), *self.args],
                cwd=REPO_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.spawned_at = time.time()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            if ready_line is not None and ready_line in self.output():
                break
            if ready_url is not None:
                try:
                    if httpx.get(ready_url, timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{self.tail()}"
                )
            time.sleep(0.02)
        self.ready_at = time.time()
        log(f"{self.name} ready (pid {self.pid}) in {self.ready_at - self.spawned_at:.2f} s")

    def stop(self) -> None:
        """SIGTERM (the worker finishes its jobs in flight), SIGKILL after STOP_TIMEOUT_S."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s: SIGKILL")
            process.kill()
            process.wait(STOP_TIMEOUT_S)
        log(f"stopped {self.name} (exit code {process.returncode})")


@dataclass
class Stub:
    child: Child
    base_url: str
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=60.0))

    async def get(self, path: str) -> Any:
        response = await self.client.get(self.base_url + path)
        response.raise_for_status()
        return response.json()

    async def reset(self) -> None:
        (await self.client.post(f"{self.base_url}/_stub/reset")).raise_for_status()


@dataclass
class CpuWindow:
    """CPU seconds of the worker, the stub, the database's backends, this process, the machine."""

    pids: dict[str, int | None]
    database: str
    started: float = field(default_factory=time.monotonic)
    before: dict[str, float | None] = field(default_factory=dict)

    def sample(self) -> dict[str, float | None]:
        values: dict[str, float | None] = {
            name: cpu_seconds(pid) for name, pid in self.pids.items()
        }
        values["postgres"] = postgres_cpu_seconds(self.database)
        values["bench"] = time.process_time()
        values["machine"] = machine_busy_seconds()
        return values

    def __post_init__(self) -> None:
        self.before = self.sample()

    def cores(self) -> dict[str, float | None]:
        after, seconds = self.sample(), time.monotonic() - self.started
        used: dict[str, float | None] = {}
        for name, end in after.items():
            start = self.before.get(name)
            used[name] = None if start is None or end is None else round((end - start) / seconds, 2)
        known = [value for name, value in used.items() if name != "machine" and value is not None]
        machine = used["machine"]
        used["other"] = None if machine is None else round(machine - sum(known), 2)
        return used


async def background_cores(seconds: float = 1.0) -> float | None:
    """Cores busy on the machine over `seconds`, minus this process."""
    machine, mine = machine_busy_seconds(), time.process_time()
    await asyncio.sleep(seconds)
    after = machine_busy_seconds()
    if machine is None or after is None:
        return None
    return round(max(0.0, (after - machine - (time.process_time() - mine)) / seconds), 2)


async def wait_for_quiet(max_wait: float) -> float | None:
    """Waits (at most max_wait s) until other processes use under QUIET_CORES; returns the last
    load seen, so that a run on a busy machine says so."""
    deadline = time.monotonic() + max_wait
    while True:
        load = await background_cores()
        if load is None or load < QUIET_CORES or time.monotonic() >= deadline:
            if load is not None and load >= QUIET_CORES:
                log(f"the machine is busy: {load:.2f} cores used by other processes")
            return load


# --- statistics ---------------------------------------------------------------------------------


def summary_ms(values: list[float]) -> dict[str, float | int | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "count": len(values),
        "min": rounded(min(values) if values else None),
        "p50": rounded(percentile(values, 0.50)),
        "p95": rounded(percentile(values, 0.95)),
        "p99": rounded(percentile(values, 0.99)),
        "max": rounded(max(values) if values else None),
        "mean": rounded(statistics.fmean(values) if values else None),
    }


# --- the two measurements -----------------------------------------------------------------------


async def clear_outbox(services: Services, stub: Stub) -> None:
    async with services.engine.begin() as connection:
        await connection.execute(text("TRUNCATE webhook_events CASCADE"))
    await stub.reset()


async def measure_latency(
    services: Services,
    user: User,
    stub: Stub,
    worker: Child,
    args: argparse.Namespace,
    *,
    label: str,
    events: int,
    rate: float,
) -> dict[str, Any]:
    """`events` events at a steady `rate`; commit -> the stub's received_at, per event."""
    await clear_outbox(services, stub)
    background = await wait_for_quiet(args.quiet_wait)
    stamping = StampingJobQueue(services.jobs)
    services.jobs = stamping
    event_ids: list[str] = []
    unit_ms: list[float] = []
    cpu = CpuWindow({"worker": worker.pid, "stub": stub.child.pid}, args.database)
    started = time.monotonic()
    try:
        for index in range(events):
            await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
            began = time.perf_counter()
            async with (
                services.session_factory() as session,
                unit_of_work(
                    session, services, actor_id=user.id, request_id=f"bench-{label}-{index}"
                ) as uow,
            ):
                event = await publish(uow, EVENT_TYPE, user, subject(index))
            unit_ms.append((time.perf_counter() - began) * 1000)
            event_ids.append(event.event_id)
    finally:
        services.jobs = stamping.inner
    sending_s = time.monotonic() - started
    log(f"{label}: {events} events written in {sending_s:.1f} s; waiting for delivery")

    deadline = time.monotonic() + args.latency_wait
    delivered = 0
    while time.monotonic() < deadline:
        delivered = await scalar(
            services, "SELECT count(*) FROM webhook_events WHERE status = 'delivered'"
        )
        if delivered >= events:
            break
        await asyncio.sleep(0.1)
    cpu_cores = cpu.cores()
    if delivered < events:
        log(f"{label}: only {delivered} of {events} delivered after {args.latency_wait:g} s")

    received: dict[str, float] = {}
    for request in (await stub.get("/_stub/events"))["events"]:
        event_id = request["headers"].get("webhook-id")
        if request["status"] in (200, 202) and event_id not in received:
            received[event_id] = request["received_at"]
    stats = await stub.get("/_stub/stats")
    if stats["rejected"]:
        raise RuntimeError(f"the stub rejected {stats['rejected']} requests: {stats}")
    found = await rows(
        services,
        "SELECT event_id, status, attempts, delivered_at FROM webhook_events",
    )
    database = {row.event_id: row for row in found}
    latency = [
        (received[event_id] - stamping.committed[event_id]) * 1000
        for event_id in event_ids
        if event_id in received
    ]
    recorded = [
        (database[event_id].delivered_at.timestamp() - stamping.committed[event_id]) * 1000
        for event_id in event_ids
        if database[event_id].delivered_at is not None
    ]
    enqueue = [
        (stamping.enqueued[event_id] - stamping.committed[event_id]) * 1000
        for event_id in event_ids
    ]
    return {
        "label": label,
        "events": events,
        "rate_per_second": rate,
        "background_cpu_cores_before": background,
        "sending_seconds": round(sending_s, 2),
        "delivered": len(latency),
        "delivered_in_database": sum(row.status == "delivered" for row in found),
        "attempts": dict(Counter(str(row.attempts) for row in found)),
        "commit_to_received_ms": summary_ms(latency),
        # Per event, in commit order: [seconds since the first commit, commit -> received ms].
        "samples": [
            [
                round(stamping.committed[event_id] - stamping.committed[event_ids[0]], 3),
                round((received[event_id] - stamping.committed[event_id]) * 1000, 1),
            ]
            for event_id in event_ids
            if event_id in received
        ],
        "commit_to_delivered_at_ms": summary_ms(recorded),
        "unit_of_work_ms": summary_ms(unit_ms),
        "enqueue_after_commit_ms": summary_ms(enqueue),
        "stub_stats": stats,
        "cpu_cores": cpu_cores,
    }


async def store_backlog(services: Services, user: User, count: int, batch: int) -> float:
    """`count` pending events written by publish in units of `batch`, with no job enqueued."""
    null = NullJobQueue()
    real, services.jobs = services.jobs, null
    started = time.monotonic()
    try:
        for first in range(0, count, batch):
            async with (
                services.session_factory() as session,
                unit_of_work(
                    session, services, actor_id=user.id, request_id=f"bench-backlog-{first}"
                ) as uow,
            ):
                for index in range(first, min(count, first + batch)):
                    await publish(uow, EVENT_TYPE, user, subject(index))
    finally:
        services.jobs = real
    if null.dropped != count:
        raise RuntimeError(f"{null.dropped} jobs dropped for {count} events")
    return time.monotonic() - started


async def measure_backlog(
    services: Services, user: User, stub: Stub, worker: Child, args: argparse.Namespace
) -> dict[str, Any]:
    """Stop the worker, store a backlog, start the worker: time until all are delivered."""
    await asyncio.to_thread(worker.stop)
    await clear_outbox(services, stub)
    await asyncio.to_thread(flush_redis)
    background = await wait_for_quiet(args.quiet_wait)
    store_s = await store_backlog(services, user, args.backlog, args.batch)
    counts = await status_counts(services)
    if counts != {"pending": args.backlog}:
        raise RuntimeError(f"expected {args.backlog} pending events, found {counts}")
    log(f"backlog: {args.backlog} pending events stored in {store_s:.1f} s; starting the worker")

    queue = redis.Redis.from_url(REDIS_URL)
    try:
        worker.env = {**worker.env, **BACKLOG_TIMINGS}
        await asyncio.to_thread(worker.start, ready_line="worker started")
        cpu = CpuWindow({"worker": worker.pid, "stub": stub.child.pid}, args.database)
        deadline = time.monotonic() + args.drain_timeout
        timeline: list[dict[str, Any]] = []
        while True:
            counts = await status_counts(services)
            waiting = await asyncio.to_thread(queue.llen, QUEUE_KEY)
            now = time.time()
            timeline.append({"t": round(now - worker.ready_at, 2), **counts, "queued": waiting})
            if counts.get("delivered", 0) >= args.backlog:
                break
            if worker.process is None or worker.process.poll() is not None:
                raise RuntimeError(f"the worker exited during the drain:\n{worker.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"backlog not drained after {args.drain_timeout:g} s: {counts}, {waiting}"
                    " jobs queued"
                )
            await asyncio.sleep(POLL_S)
        polled_s = now - worker.ready_at
        cpu_cores = cpu.cores()
        first, last = (
            await rows(services, "SELECT min(delivered_at), max(delivered_at) FROM webhook_events")
        )[0]
        exact_s = last.timestamp() - worker.ready_at
        queued_at_done = timeline[-1]["queued"]
        log(f"backlog: drained in {polled_s:.1f} s; {queued_at_done} jobs still queued")

        # The jobs left over are re-sends of delivered events: each one is a failed claim.
        idle_deadline = time.monotonic() + min(120.0, args.drain_timeout)
        while time.monotonic() < idle_deadline:
            waiting = await asyncio.to_thread(queue.llen, QUEUE_KEY)
            if waiting == 0:
                break
            await asyncio.sleep(POLL_S)
        queue_empty_s = time.time() - worker.ready_at if waiting == 0 else None
    finally:
        queue.close()

    stats = await stub.get("/_stub/stats")
    if stats["accepted"] != args.backlog or stats["rejected"]:
        raise RuntimeError(f"the stub did not accept each event once: {stats}")
    output = worker.output()
    sweeps = [int(count) for count in SWEEP_LINE.findall(output)]
    outcomes = Counter(ATTEMPT_LINE.findall(output))
    attempts = await rows(
        services, "SELECT attempts, count(*) FROM webhook_events GROUP BY attempts"
    )
    return {
        "events": args.backlog,
        "background_cpu_cores_before": background,
        "store_seconds": round(store_s, 2),
        "worker_start_seconds": round(worker.ready_at - worker.spawned_at, 2),
        "drain_seconds_polled": round(polled_s, 2),
        "drain_seconds_exact": round(exact_s, 2),
        "events_per_second": round(args.backlog / polled_s, 1),
        "events_per_second_exact": round(args.backlog / exact_s, 1),
        "first_delivery_seconds": round(first.timestamp() - worker.ready_at, 2),
        "steady_events_per_second": round(
            (args.backlog - 1) / max(1e-9, last.timestamp() - first.timestamp()), 1
        ),
        "sweeps_with_sends": len(sweeps),
        "jobs_sent_by_sweeper": sum(sweeps),
        "largest_sweep": max(sweeps, default=0),
        "attempt_outcomes": dict(outcomes),
        "attempts": {str(count): n for count, n in attempts},
        "jobs_queued_at_drain_end": queued_at_done,
        "queue_empty_seconds": None if queue_empty_s is None else round(queue_empty_s, 2),
        "stub_stats": stats,
        "cpu_cores": cpu_cores,
        "timeline": timeline,
    }


# --- the run ------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace, url: str, log_dir: Path) -> dict[str, Any]:
    git = git_state()
    markov_secret = secrets.token_urlsafe(32)
    jwt_secret = secrets.token_urlsafe(48)
    stub_port = free_port()
    markov_url = f"http://127.0.0.1:{stub_port}"
    base_env = {
        **os.environ,
        "GOTONG_ENV": "development",
        "VAR_DIR": str(log_dir / "var"),
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "MARKOV_BASE_URL": markov_url,
        "MARKOV_WEBHOOK_SECRET": markov_secret,
        "JWT_SECRET": jwt_secret,
    }
    for name in ("MARKOV_WEBHOOK_SECRET_PREVIOUS", "MARKOV_API_TOKEN"):
        base_env.pop(name, None)
    stub = Stub(
        Child(
            "markov-stub", ["markov-stub", "--port", str(stub_port)], base_env, log_dir / "stub.log"
        ),
        markov_url,
    )
    worker = Child(
        "worker",
        ["worker", "--threads", str(args.threads)],
        {**base_env, **LATENCY_TIMINGS},
        log_dir / "worker.log",
    )
    settings = Settings(
        gotong_env="development",
        var_dir=log_dir / "var",
        database_url=url,
        redis_url=REDIS_URL,
        markov_base_url=markov_url,
        markov_webhook_secret=markov_secret,
        jwt_secret=jwt_secret,
        **{name.lower(): float(value) for name, value in LATENCY_TIMINGS.items()},
    )
    services = Services.create(settings)
    try:
        user = await create_user(services)
        await asyncio.to_thread(stub.child.start, ready_url=f"{markov_url}/healthz")
        await asyncio.to_thread(worker.start, ready_line="worker started")
        latency = []
        runs = [
            ("steady", args.events, args.rate),
            ("sparse", args.sparse_events, args.sparse_rate),
        ]
        for label, events, rate in runs:
            if events:
                result = await measure_latency(
                    services, user, stub, worker, args, label=label, events=events, rate=rate
                )
                latency.append(result)
                ms = result["commit_to_received_ms"]
                log(
                    f"{label}: delivered {result['delivered']}, p50 {ms['p50']} ms,"
                    f" p95 {ms['p95']} ms, max {ms['max']} ms"
                )
        backlog = await measure_backlog(services, user, stub, worker, args)
    except BaseException:
        log(f"worker log tail:\n{worker.tail()}")
        raise
    finally:
        await asyncio.to_thread(worker.stop)
        await asyncio.to_thread(stub.child.stop)
        await stub.client.aclose()
        await services.close()
    return {
        "benchmark": "webhook_delivery",
        "git": git,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "database": args.database,
            "redis_url": REDIS_URL,
            "worker_threads": args.threads,
            "latency_timings": LATENCY_TIMINGS,
            "backlog_timings": BACKLOG_TIMINGS,
            "sweep_batch": SWEEP_BATCH,
            "backlog_batch": args.batch,
        },
        "latency": latency,
        "backlog": backlog,
    }


def markdown(report: dict[str, Any]) -> str:
    def value(number: Any) -> str:
        return "n/a" if number is None else f"{number:g}"

    def cpu(cores: dict[str, float | None]) -> str:
        return " | ".join(value(cores[name]) for name in ("worker", "postgres", "other"))

    backlog, config = report["backlog"], report["config"]
    lines = [
        "| commit to delivery | events | delivered | p50 ms | p95 ms | p99 ms | max ms "
        "| worker CPU | PostgreSQL CPU | other CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in report["latency"]:
        ms = run["commit_to_received_ms"]
        lines.append(
            f"| {run['label']}: {value(run['rate_per_second'])} events/s | {run['events']} "
            f"| {run['delivered']} | {value(ms['p50'])} | {value(ms['p95'])} "
            f"| {value(ms['p99'])} | {value(ms['max'])} | {cpu(run['cpu_cores'])} |"
        )
    lines += [
        "",
        "| backlog drain | events | drain s | events/s | first delivery s "
        "| jobs sent by sweeper | jobs queued at end | worker CPU | PostgreSQL CPU | other CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| sweeper: grace 0 s, every 1 s | {backlog['events']} "
        f"| {value(backlog['drain_seconds_polled'])} | {value(backlog['events_per_second'])} "
        f"| {value(backlog['first_delivery_seconds'])} | {backlog['jobs_sent_by_sweeper']} "
        f"| {backlog['jobs_queued_at_drain_end']} | {cpu(backlog['cpu_cores'])} |",
        "",
        f"`gotong-gql worker --threads {config['worker_threads']}` and `gotong-gql markov-stub`"
        f" on {report['machine']['cpus']} CPUs. Delivery: the stub's `received_at`; commit: the"
        " moment the unit of work, its commit done, sends the job. Drain s: from the worker's"
        f" `worker started` to the {POLL_S:g} s poll that saw every event delivered (last"
        f" `delivered_at`: {value(backlog['drain_seconds_exact'])} s). CPU: cores busy (other:"
        " the rest of the machine).",
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events for the latency")
    parser.add_argument("--rate", type=float, default=20.0, help="latency events per second")
    parser.add_argument(
        "--sparse-events", type=int, default=20, help="events for the sparse latency (0: none)"
    )
    parser.add_argument(
        "--sparse-rate", type=float, default=0.4, help="sparse latency events per second"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait at most for other processes to go quiet before each measurement",
    )
    parser.add_argument(
        "--latency-wait", type=float, default=60.0, help="seconds to wait for the last deliveries"
    )
    parser.add_argument("--backlog", type=int, default=10_000, help="pending events to drain")
    parser.add_argument("--batch", type=int, default=1000, help="backlog events per transaction")
    parser.add_argument("--threads", type=int, default=8, help="worker threads")
    parser.add_argument(
        "--drain-timeout", type=float, default=600.0, help="fail if the backlog takes longer"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="fail if the whole run takes longer"
    )
    parser.add_argument("--database", default="gotong_bench_webhooks", help="created, dropped")
    args = parser.parse_args()
    if not 1 <= args.events <= 100_000 or not 0.1 <= args.rate <= 1000:
        parser.error("--events is 1..100000 and --rate 0.1..1000")
    if not 0 <= args.sparse_events <= 1000 or not 0.01 <= args.sparse_rate <= 1000:
        parser.error("--sparse-events is 0..1000 and --sparse-rate 0.01..1000")
    if not 0 <= args.quiet_wait <= 600:
        parser.error("--quiet-wait is 0..600 s")
    if not 1 <= args.backlog <= 1_000_000 or not 1 <= args.batch <= 10_000:
        parser.error("--backlog is 1..1000000 and --batch 1..10000")
    if not 1 <= args.threads <= 64:
        parser.error("--threads is 1..64")
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and _ only")
    return args


async def bounded(args: argparse.Namespace, url: str, log_dir: Path) -> dict[str, Any]:
    try:
        async with asyncio.timeout(args.timeout):
            return await benchmark(args, url, log_dir)
    except TimeoutError:
        raise RuntimeError(f"the run took longer than --timeout {args.timeout:g} s") from None


def run(args: argparse.Namespace) -> dict[str, Any]:
    drop = f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'
    asyncio.run(pg_admin(drop))
    asyncio.run(pg_admin(f'CREATE DATABASE "{args.database}"'))
    log(f"created database {args.database}")
    try:
        flush_redis()
        url = database_url(args.database)
        migrate.upgrade(url)  # runs its own event loop
        with tempfile.TemporaryDirectory(prefix="gotong-bench-webhooks-") as log_dir:
            return asyncio.run(bounded(args, url, Path(log_dir)))
    finally:
        flush_redis()
        asyncio.run(pg_admin(drop))
        log(f"flushed {REDIS_URL}, dropped database {args.database}")


def main() -> None:
    args = parse_args()
    try:
        report = run(args)
    except RuntimeError as exc:  # a process that did not start, a wrong answer, a timeout
        log(f"FAILED: {exc}")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        log("interrupted")
        raise SystemExit(130) from None
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    log(f"wrote {RESULTS_FILE.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()
