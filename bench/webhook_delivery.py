"""Benchmark: SPEC 4 webhook delivery to the Markov Engine, from commit to the receiver.

    .venv/bin/python bench/webhook_delivery.py [--events 300] [--rate 20] [--backlog 10000]

Creates a fresh PostgreSQL database, migrates it and adds one user, flushes Redis DB 14, and
starts `gotong-gql markov-stub` and `gotong-gql worker --threads 8` as subprocesses on 127.0.0.1.
Then two measurements:

1. latency: --events `contribution_created` events at --rate per second, one unit of work each,
   through `webhook.outbox.write_event` (the commit, then the delivery job to Redis), and the time
   from each commit to the stub receiving the request (its `received_at`); then the same for
   --sparse-events at --sparse-rate (an idle worker between events);
2. backlog: the worker stopped, --backlog pending events stored without enqueuing their jobs, the
   worker started again with WEBHOOK_PENDING_GRACE_SECONDS=0 and WEBHOOK_SWEEP_INTERVAL_SECONDS=1
   (its sweeper sends them), and the time until all of them are `delivered`.

Prints a markdown table and writes bench/results/webhook_delivery.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import time
from collections import Counter
from typing import Any

import redis
from harness.base import BenchError, log
from harness.cpu import BackendCpu, wait_for_quiet
from harness.processes import Process, free_port, gotong_env, venv_script
from harness.report import fmt, table
from harness.runner import Run, Scenario, main
from harness.stats import summary_ms
from webhook_parts import Bench, NullJobQueue, StampingJobQueue, create_user

from gotong_gql.jobs import DRAMATIQ_NAMESPACE, QUEUE
from gotong_gql.services import Services
from gotong_gql.settings import Settings
from gotong_gql.webhook.service import SWEEP_BATCH

QUEUE_KEY = f"{DRAMATIQ_NAMESPACE}:{QUEUE}"  # the Redis list of waiting message ids
POLL_S = 0.5
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


async def measure_latency(bench: Bench, label: str, events: int, rate: float) -> dict[str, Any]:
    """`events` events at a steady `rate`; commit -> the stub's received_at, per event."""
    args, services = bench.args, bench.services
    await bench.clear_outbox()
    background = await asyncio.to_thread(wait_for_quiet, args.quiet_wait)
    stamping = StampingJobQueue(services.jobs)
    services.jobs = stamping
    event_ids: list[str] = []
    unit_ms: list[float] = []
    cpu = bench.cpu()
    started = time.monotonic()
    try:
        for index in range(events):
            await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
            began = time.perf_counter()
            event_ids += await bench.publish(label, index, 1)
            unit_ms.append((time.perf_counter() - began) * 1000)
    finally:
        services.jobs = stamping.inner
    sending_s = time.monotonic() - started
    log(f"{label}: {events} events written in {sending_s:.1f} s; waiting for delivery")
    deadline = time.monotonic() + args.latency_wait
    delivered = 0
    while time.monotonic() < deadline:
        delivered = (await bench.statuses()).get("delivered", 0)
        if delivered >= events:
            break
        await asyncio.sleep(0.1)
    cpu_cores = cpu.cores()
    if delivered < events:
        log(f"{label}: only {delivered} of {events} delivered after {args.latency_wait:g} s")

    received: dict[str, float] = {}
    for request in (await bench.stub_get("/_stub/events"))["events"]:
        event_id = request["headers"].get("webhook-id")
        if request["status"] in (200, 202) and event_id not in received:
            received[event_id] = request["received_at"]
    stats = await bench.stub_get("/_stub/stats")
    if stats["rejected"]:
        raise BenchError(f"the stub rejected {stats['rejected']} requests: {stats}")
    found = await bench.sql("SELECT event_id, status, attempts, delivered_at FROM webhook_events")
    database = {row.event_id: row for row in found}
    committed = stamping.committed
    arrived = [event_id for event_id in event_ids if event_id in received]
    return {
        "label": label,
        "events": events,
        "rate_per_second": rate,
        "background_cpu_cores_before": background,
        "sending_seconds": round(sending_s, 2),
        "delivered": len(arrived),
        "delivered_in_database": sum(row.status == "delivered" for row in found),
        "attempts": dict(Counter(str(row.attempts) for row in found)),
        "commit_to_received_ms": summary_ms([(received[e] - committed[e]) * 1000 for e in arrived]),
        # Per event, in commit order: [seconds since the first commit, commit -> received ms].
        "samples": [
            [
                round(committed[e] - committed[event_ids[0]], 3),
                round((received[e] - committed[e]) * 1000, 1),
            ]
            for e in arrived
        ],
        "commit_to_delivered_at_ms": summary_ms(
            [
                (database[e].delivered_at.timestamp() - committed[e]) * 1000
                for e in event_ids
                if database[e].delivered_at is not None
            ]
        ),
        "unit_of_work_ms": summary_ms(unit_ms),
        "enqueue_after_commit_ms": summary_ms(
            [(stamping.enqueued[e] - committed[e]) * 1000 for e in event_ids]
        ),
        "stub_stats": stats,
        "cpu_cores": cpu_cores,
    }


async def store_backlog(bench: Bench, count: int, batch: int) -> float:
    """`count` pending events written by publish in units of `batch`, with no job enqueued."""
    null = NullJobQueue()
    real, bench.services.jobs = bench.services.jobs, null
    started = time.monotonic()
    try:
        for first in range(0, count, batch):
            await bench.publish("backlog", first, min(batch, count - first))
    finally:
        bench.services.jobs = real
    if null.dropped != count:
        raise BenchError(f"{null.dropped} jobs dropped for {count} events")
    return time.monotonic() - started


async def drain(bench: Bench, queue: redis.Redis) -> tuple[list[dict[str, Any]], float, Any]:
    """Polls until every event is delivered: the timeline, when the last poll was, the CPU."""
    args, worker = bench.args, bench.worker
    assert worker is not None
    cpu = bench.cpu()
    deadline = time.monotonic() + args.drain_timeout
    timeline: list[dict[str, Any]] = []
    while True:
        counts = await bench.statuses()
        waiting = await asyncio.to_thread(queue.llen, QUEUE_KEY)
        now = time.time()
        timeline.append({"t": round(now - worker.ready_at, 2), **counts, "queued": waiting})
        if counts.get("delivered", 0) >= args.backlog:
            return timeline, now, cpu.cores()
        if not worker.alive():
            raise BenchError(f"the worker exited during the drain:\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise BenchError(
                f"backlog not drained after {args.drain_timeout:g} s: {counts}, {waiting} queued"
            )
        await asyncio.sleep(POLL_S)


async def measure_backlog(bench: Bench) -> dict[str, Any]:
    """Stop the worker, store a backlog, start the worker: time until all are delivered."""
    args, worker = bench.args, bench.worker
    assert worker is not None and bench.run.redis_url is not None
    await asyncio.to_thread(worker.stop)
    await bench.clear_outbox()
    queue = redis.Redis.from_url(bench.run.redis_url)
    await asyncio.to_thread(queue.flushdb)
    background = await asyncio.to_thread(wait_for_quiet, args.quiet_wait)
    store_s = await store_backlog(bench, args.backlog, args.batch)
    counts = await bench.statuses()
    if counts != {"pending": args.backlog}:
        raise BenchError(f"expected {args.backlog} pending events, found {counts}")
    log(f"backlog: {args.backlog} pending events stored in {store_s:.1f} s; starting the worker")
    try:
        worker.env = {**worker.env, **BACKLOG_TIMINGS}
        await asyncio.to_thread(worker.start, ready_line="worker started")
        timeline, done_at, cpu_cores = await drain(bench, queue)
        polled_s = done_at - worker.ready_at
        first, last = (
            await bench.sql("SELECT min(delivered_at), max(delivered_at) FROM webhook_events")
        )[0]
        exact_s = last.timestamp() - worker.ready_at
        log(f"backlog: drained in {polled_s:.1f} s; {timeline[-1]['queued']} jobs still queued")
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
    stats = await bench.stub_get("/_stub/stats")
    if stats["accepted"] != args.backlog or stats["rejected"]:
        raise BenchError(f"the stub did not accept each event once: {stats}")
    sweeps = [int(count) for count in SWEEP_LINE.findall(worker.output())]
    attempts = await bench.sql("SELECT attempts, count(*) FROM webhook_events GROUP BY attempts")
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
        "attempt_outcomes": dict(Counter(ATTEMPT_LINE.findall(worker.output()))),
        "attempts": {str(count): n for count, n in attempts},
        "jobs_queued_at_drain_end": timeline[-1]["queued"],
        "queue_empty_seconds": None if queue_empty_s is None else round(queue_empty_s, 2),
        "stub_stats": stats,
        "cpu_cores": cpu_cores,
        "timeline": timeline,
    }


async def benchmark(run: Run) -> dict[str, Any]:
    args, redis_url = run.args, run.redis_url
    assert redis_url is not None
    stub_port = free_port()
    settings = {
        "GOTONG_ENV": "development",
        "VAR_DIR": str(run.work_dir / "var"),
        "DATABASE_URL": run.url,
        "REDIS_URL": redis_url,
        "MARKOV_BASE_URL": f"http://127.0.0.1:{stub_port}",
        "MARKOV_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "JWT_SECRET": secrets.token_urlsafe(48),
    }
    env, gotong = gotong_env(settings), venv_script("gotong-gql")
    stub_command = [gotong, "markov-stub", "--port", str(stub_port)]
    stub = Process("markov-stub", stub_command, env, run.work_dir / "stub.log")
    worker_command = [gotong, "worker", "--threads", str(args.threads)]
    worker_env = {**env, **LATENCY_TIMINGS}
    worker = Process("worker", worker_command, worker_env, run.work_dir / "worker.log")
    # This process writes the events with the worker's settings.
    in_process = {name.lower(): value for name, value in {**settings, **LATENCY_TIMINGS}.items()}
    services = Services.create(Settings(**in_process))
    bench = Bench(run, services, stub, settings["MARKOV_BASE_URL"])
    try:
        with BackendCpu(run.database) as bench.postgres:
            bench.user = await create_user(services)
            await asyncio.to_thread(stub.start, ready_url=f"{bench.stub_url}/healthz")
            bench.worker = await asyncio.to_thread(worker.start, ready_line="worker started")
            latency = []
            for label, events, rate in (
                ("steady", args.events, args.rate),
                ("sparse", args.sparse_events, args.sparse_rate),
            ):
                if events:
                    latency.append(await measure_latency(bench, label, events, rate))
                    ms = latency[-1]["commit_to_received_ms"]
                    log(
                        f"{label}: delivered {latency[-1]['delivered']}, p50 {ms['p50']} ms,"
                        f" p95 {ms['p95']} ms, max {ms['max']} ms"
                    )
            backlog = await measure_backlog(bench)
    finally:
        await asyncio.to_thread(worker.stop)
        await asyncio.to_thread(stub.stop)
        await bench.http.aclose()
        await services.close()
    return {
        "config": {
            "database": args.database,
            "redis_url": redis_url,
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
    def cpu(cores: dict[str, float | None]) -> list[str]:
        return [fmt(cores[name]) for name in ("worker", "postgres", "other")]

    backlog, config = report["backlog"], report["config"]
    rows = []
    for run in report["latency"]:
        ms = run["commit_to_received_ms"]
        label = f"{run['label']}: {fmt(run['rate_per_second'])} events/s"
        times = [fmt(ms[name]) for name in ("p50", "p95", "p99", "max")]
        rows.append([label, run["events"], run["delivered"], *times, *cpu(run["cpu_cores"])])
    header = ["commit to delivery", "events", "delivered", "p50 ms", "p95 ms", "p99 ms"]
    header += ["max ms", "worker CPU", "PostgreSQL CPU", "other CPU"]
    drain_header = ["backlog drain", "events", "drain s", "events/s", "first delivery s"]
    drain_header += ["jobs sent by sweeper", "jobs queued at end"]
    drain_header += ["worker CPU", "PostgreSQL CPU", "other CPU"]
    drain = [
        "sweeper: grace 0 s, every 1 s",
        backlog["events"],
        fmt(backlog["drain_seconds_polled"]),
        fmt(backlog["events_per_second"]),
        fmt(backlog["first_delivery_seconds"]),
        backlog["jobs_sent_by_sweeper"],
        backlog["jobs_queued_at_drain_end"],
        *cpu(backlog["cpu_cores"]),
    ]
    return "\n".join(
        [
            *table(header, rows),
            "",
            *table(drain_header, [drain]),
            "",
            f"`gotong-gql worker --threads {config['worker_threads']}` and `gotong-gql markov-stub`"
            f" on {report['machine']['cpus']} CPUs. Delivery: the stub's `received_at`; commit:"
            " the moment the unit of work, its commit done, sends the job. Drain s: from the"
            f" worker's `worker started` to the {POLL_S:g} s poll that saw every event delivered"
            f" (last `delivered_at`: {fmt(backlog['drain_seconds_exact'])} s). CPU: cores busy"
            " (other: the rest of the machine).",
        ]
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--events", type=int, default=300, help="events for the latency")
    add("--rate", type=float, default=20.0, help="latency events per second")
    add("--sparse-events", type=int, default=20, help="events for the sparse latency (0: none)")
    add("--sparse-rate", type=float, default=0.4, help="sparse latency events per second")
    add("--latency-wait", type=float, default=60.0, help="seconds to wait for the last deliveries")
    add("--backlog", type=int, default=10_000, help="pending events to drain")
    add("--batch", type=int, default=1000, help="backlog events per transaction")
    add("--threads", type=int, default=8, help="worker threads")
    add("--drain-timeout", type=float, default=600.0, help="fail if the backlog takes longer")


def check(args: argparse.Namespace) -> str | None:
    if not 1 <= args.events <= 100_000 or not 0.1 <= args.rate <= 1000:
        return "--events is 1..100000 and --rate 0.1..1000"
    if not 0 <= args.sparse_events <= 1000 or not 0.01 <= args.sparse_rate <= 1000:
        return "--sparse-events is 0..1000 and --sparse-rate 0.01..1000"
    if not 1 <= args.backlog <= 1_000_000 or not 1 <= args.batch <= 10_000:
        return "--backlog is 1..1000000 and --batch 1..10000"
    if not 1 <= args.threads <= 64:
        return "--threads is 1..64"
    return None


if __name__ == "__main__":
    main(
        Scenario(
            name="webhook_delivery",
            doc=__doc__,
            run=benchmark,
            markdown=markdown,
            database="gotong_bench_webhooks",
            add_arguments=add_arguments,
            check=check,
            redis=("GOTONG_BENCH_REDIS", "redis://127.0.0.1:6379/14"),
            quiet_wait=30.0,
        )
    )
