"""Benchmark: `taskUpdated` fan-out to 1,000 (or 10,000) idle subscriptions on one API process.

    .venv/bin/python bench/subscriptions_fanout.py [--subscriptions 1000] [--events 20]
    .venv/bin/python bench/subscriptions_fanout.py --subscriptions 10000  # on 500 connections

Creates a fresh PostgreSQL database, migrates it and creates an organizer with
`gotong-gql user create`; then, for each scenario (`embedded`: in-process pub/sub, no REDIS_URL;
`redis`: REDIS_URL, Redis pub/sub, its DB flushed before and after), starts one
`gotong-gql serve` on a free port of 127.0.0.1, creates a task through GraphQL (and registers a
contributor, once), opens ceil(subscriptions / MAX_SUBSCRIPTIONS_PER_CONNECTION) WebSocket
connections (graphql-transport-ws, the contributor's token in `connection_init`) and starts the
subscriptions on that task. It measures:

1. memory: the server's VmRSS before the connections, with the connections, and with every
   subscription registered and idle; KB per subscription;
2. fan-out: --events `taskUpdate` title changes by the organizer over HTTP, one at a time (after
   --warmup unmeasured ones), and for each the time from the mutation's HTTP response (its
   commit) to the first and to the last of the subscribers receiving the `next` message;
3. with --soak N, N more title changes back to back, and the server's VmRSS every 100 of them;
4. the server's gotong_subscription_* metrics (groups, members, reads, bytes sent).

Every subscriber must receive every event exactly once and in order, or the run fails. Prints a
markdown table and writes bench/results/subscriptions_fanout.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from typing import Any

from fanout_clients import (
    ORGANIZER,
    PASSWORD,
    SUBSCRIPTION,
    TASK_UPDATE,
    Tracker,
    connection_count,
    open_connection,
    read,
    server_metrics,
    sign_in,
    soak,
    subscribe_all,
)
from fanout_report import markdown
from harness.base import BenchError, log
from harness.cpu import (
    BackendCpu,
    CpuWindow,
    busiest,
    process_cpu_table,
    wait_for_quiet,
    wait_until_idle,
)
from harness.database import database_counters, flush_redis
from harness.gql import GraphQLClient
from harness.memory import proc_status_kb, vm_rss_kb
from harness.processes import Process, free_port, gotong_env, run_cli, venv_script
from harness.runner import Run, Scenario, main
from harness.stats import summary_ms
from websockets.asyncio.client import ClientConnection

from gotong_gql.graphql.view import MAX_SUBSCRIPTIONS_PER_CONNECTION

SCENARIOS = ("embedded", "redis")
# PostgreSQL 15 flushes an idle backend's statistics at most 10 s after its last transaction.
PG_STATS_SETTLE_S = 11.0


async def idle(pid: int, at_least: float, window: float = 0.5, max_wait: float = 30.0) -> float:
    return await asyncio.to_thread(
        wait_until_idle, pid, at_least=at_least, window=window, max_wait=max_wait
    )


async def fan_out(
    name: str, server: Process, organizer: GraphQLClient, tracker: Tracker, run: Run, pg: BackendCpu
) -> dict[str, Any]:
    """--warmup then --events title changes, one at a time; each reaches every subscriber."""
    args, pid = run.args, server.pid

    def mutate(title: str) -> tuple[float, float]:
        sent = time.perf_counter()
        organizer.payload("taskUpdate", TASK_UPDATE, {"id": tracker.task_id, "title": title})
        return sent, time.perf_counter()

    if args.pg_stats:
        await asyncio.sleep(PG_STATS_SETTLE_S)  # the setup's transactions counted before
    counters_before = await database_counters(run.database)
    samples: list[dict[str, Any]] = []
    background = await asyncio.to_thread(wait_for_quiet, args.quiet_wait)
    window, processes_before = CpuWindow({"server": pid}, pg), process_cpu_table()
    for index in range(args.warmup + args.events):
        if index == args.warmup:
            await idle(pid, at_least=0.5)
            window, processes_before = CpuWindow({"server": pid}, pg), process_cpu_table()
        else:
            await idle(pid, at_least=0.2, window=0.2, max_wait=10.0)
        server.check_alive()
        title = f"Fan-out {name} #{index:03d}"
        event = tracker.expect(title)
        sent, answered = await asyncio.to_thread(mutate, title)
        done = asyncio.create_task(tracker.complete[event].wait())
        failed = asyncio.create_task(tracker.failed.wait())
        await asyncio.wait(
            {done, failed}, timeout=args.event_timeout, return_when="FIRST_COMPLETED"
        )
        done.cancel()
        failed.cancel()
        if tracker.failed.is_set():
            raise BenchError(f"event {index}: {tracker.problems}")
        arrivals = sorted(tracker.arrivals[event])
        if len(arrivals) < args.subscriptions:
            raise BenchError(
                f"event {index}: {len(arrivals)} of {args.subscriptions} subscribers received it"
                f" within {args.event_timeout:g} s"
            )
        samples.append(
            {
                "event": index,
                "warmup": index < args.warmup,
                "mutation_ms": round((answered - sent) * 1000, 2),
                "response_to_first_ms": round((arrivals[0] - answered) * 1000, 2),
                "response_to_median_ms": round((statistics.median(arrivals) - answered) * 1000, 2),
                "response_to_last_ms": round((arrivals[-1] - answered) * 1000, 2),
                "sent_to_last_ms": round((arrivals[-1] - sent) * 1000, 2),
                "server_rss_kb": vm_rss_kb(pid),
            }
        )
        log(
            f"{name} event {index}{' (warm-up)' if index < args.warmup else ''}: response"
            f" -> first {samples[-1]['response_to_first_ms']} ms,"
            f" -> last {samples[-1]['response_to_last_ms']} ms"
        )
    await idle(pid, at_least=0.5)
    cpu = window.seconds()
    measured_s = cpu.pop("elapsed") or 1e-9
    others = busiest(processes_before, {pid, os.getpid()})
    await asyncio.sleep(1.0)  # late duplicates would show here
    if tracker.failed.is_set():
        raise BenchError(f"after the events: {tracker.problems}")
    tracker.check_exactly_once_in_order()
    if args.pg_stats:
        await asyncio.sleep(PG_STATS_SETTLE_S)
    counters_after = await database_counters(run.database)
    total = args.warmup + args.events
    per_event = [
        round((after - before) / total, 1) if args.pg_stats else None
        for before, after in zip(counters_before, counters_after, strict=True)
    ]
    measured = [sample for sample in samples if not sample["warmup"]]
    return {
        **{
            key: summary_ms([sample[key] for sample in measured])
            for key in ("response_to_first_ms", "response_to_median_ms", "response_to_last_ms")
        },
        "sent_to_last_ms": summary_ms([s["sent_to_last_ms"] for s in measured]),
        "mutation_ms": summary_ms([s["mutation_ms"] for s in measured]),
        "background_cpu_cores_before": background,
        "cpu_seconds_per_event": {
            key: None if value is None else round(value / args.events, 4)
            for key, value in cpu.items()
        },
        "cpu_cores_measured": {
            key: None if value is None else round(value / measured_s, 2)
            for key, value in cpu.items()
        },
        "busiest_processes_except_server_and_bench": others,
        # Over the warm-up and measured events, from pg_stat_database.
        "database_transactions_per_event": per_event[0],
        "database_connections_opened_per_event": per_event[1],
        "samples": samples,
    }


async def scenario(
    name: str, env: dict[str, str], run: Run, pg: BackendCpu, state: dict[str, Any]
) -> dict[str, Any]:
    args = run.args
    env = {**env, "SUBSCRIPTION_MULTIPLEXING": "true" if args.multiplexing else "false"}
    if name == "redis":
        assert run.redis_url is not None
        env = {**env, "REDIS_URL": run.redis_url}
        await asyncio.to_thread(flush_redis, run.redis_url)
    port = free_port()
    command = [venv_script("gotong-gql"), "serve", "--port", str(port)]
    server = Process(f"server-{name}", command, env, run.work_dir / f"server-{name}.log")
    base_url = f"http://127.0.0.1:{port}"
    organizer, contributor = GraphQLClient(base_url, 30.0), GraphQLClient(base_url, 30.0)
    sockets: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    tracker: Tracker | None = None
    try:
        await asyncio.to_thread(server.start, ready_url=f"{base_url}/healthz")
        register = not state.get("registered")
        task_id, token = await asyncio.to_thread(
            sign_in, organizer, contributor, f"Fan-out {name}", register
        )
        state["registered"] = True
        tracker = Tracker(task_id=task_id, subscriptions=args.subscriptions)

        # Memory: before the connections, with them, with every subscription idle.
        pid = server.pid
        await idle(pid, at_least=1.0)
        rss_before = vm_rss_kb(pid)
        connections = connection_count(args.subscriptions)
        ws_url = base_url.replace("http://", "ws://") + "/graphql"
        opened = [open_connection(ws_url, token) for _ in range(connections)]
        sockets.extend(await asyncio.gather(*opened))
        extensions = sockets[0].response.headers.get("Sec-WebSocket-Extensions")
        await idle(pid, at_least=1.0)
        rss_connected = vm_rss_kb(pid)
        readers += [asyncio.create_task(read(ws, i, tracker)) for i, ws in enumerate(sockets)]
        subscribe_started = time.perf_counter()
        await subscribe_all(sockets, tracker, args.subscriptions)
        # No message confirms a subscription: wait until the server is idle (every generator is
        # waiting on its queue); the first event then proves all of them were registered.
        waited = await idle(pid, at_least=1.0, max_wait=max(30.0, args.subscriptions / 100))
        if tracker.failed.is_set():
            raise BenchError(f"subscribing failed: {tracker.problems}")
        rss_idle = vm_rss_kb(pid)
        subscribe_s = time.perf_counter() - subscribe_started
        log(
            f"{name}: {args.subscriptions} subscriptions on {connections} connections;"
            f" RSS {rss_before} -> {rss_connected} -> {rss_idle} kB"
        )
        events = await fan_out(name, server, organizer, tracker, run, pg)
        rss_after = vm_rss_kb(pid)

        def mutate(title: str) -> None:
            organizer.payload("taskUpdate", TASK_UPDATE, {"id": tracker.task_id, "title": title})

        soaked = await soak(name, args.soak, mutate, tracker, pid, args.event_timeout)
        tracker.check_exactly_once_in_order()
        rss_peak = proc_status_kb(pid, "VmHWM")
        counters = await asyncio.to_thread(server_metrics, base_url)
        server.check_alive()
    finally:
        if tracker is not None:
            tracker.closing = True
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        organizer.close()
        contributor.close()
        await asyncio.to_thread(server.stop)
        if name == "redis" and run.redis_url:
            await asyncio.to_thread(flush_redis, run.redis_url)
    per_subscription = round((rss_idle - rss_before) / args.subscriptions, 2)
    return {
        "scenario": name,
        "pubsub": "Redis pub/sub" if name == "redis" else "in-process",
        "multiplexing": args.multiplexing,
        "subscriptions": args.subscriptions,
        "connections": connections,
        "websocket_extensions": extensions,
        "subscribe_seconds": round(subscribe_s, 2),
        "idle_wait_seconds": round(waited, 2),
        "memory_kb": {
            "rss_before_connections": rss_before,
            "rss_with_connections": rss_connected,
            "rss_subscriptions_idle": rss_idle,
            "rss_after_events": rss_after,
            "rss_peak": rss_peak,
            "per_subscription": per_subscription,
            "per_subscription_after_soak": round(
                (soaked[-1]["server_rss_kb"] - rss_before) / args.subscriptions, 2
            )
            if soaked
            else None,
            "per_subscription_without_connections": round(
                (rss_idle - rss_connected) / args.subscriptions, 2
            ),
            "per_connection": round((rss_connected - rss_before) / connections, 1),
        },
        "events": args.events,
        "warmup_events": args.warmup,
        **events,
        "soak": soaked,
        "server_metrics": counters,
    }


async def benchmark(run: Run) -> dict[str, Any]:
    args = run.args
    env = gotong_env(
        {
            "GOTONG_ENV": "development",
            "VAR_DIR": str(run.work_dir / "var"),
            "DATABASE_URL": run.url,
            "JWT_SECRET": secrets.token_urlsafe(48),
            # Subscriptions end when their token expires (15 min by default): not during the run.
            "ACCESS_TOKEN_TTL_SECONDS": "3600",
            # The 1,000 subscriptions of one account stand for 1,000 people.
            "RATE_LIMIT_ENABLED": "false",
        }
    )
    command = [venv_script("gotong-gql"), "user", "create", "--username", ORGANIZER]
    command += ["--email", f"{ORGANIZER}@bench.example.org", "--password", PASSWORD]
    await asyncio.to_thread(run_cli, [*command, "--role", "organizer"], env)
    state: dict[str, Any] = {}
    with BackendCpu(run.database) as postgres:
        results = [await scenario(name, env, run, postgres, state) for name in args.scenarios]
    return {
        "config": {
            "database": args.database,
            "redis_url": run.redis_url,
            "subscriptions": args.subscriptions,
            "max_subscriptions_per_connection": MAX_SUBSCRIPTIONS_PER_CONNECTION,
            "events": args.events,
            "warmup": args.warmup,
            "soak": args.soak,
            "multiplexing": args.multiplexing,
            "subscription": SUBSCRIPTION,
            "mutation": TASK_UPDATE,
        },
        "note": (
            "Latencies are measured by the benchmark's client (one asyncio loop reading every"
            " WebSocket, the mutation sent from a thread) on the same machine as the server and"
            " PostgreSQL: they include the client's own reading and parsing."
        ),
        "scenarios": results,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subscriptions", type=int, default=1000, help="on the one task")
    parser.add_argument("--events", type=int, default=20, help="measured task updates")
    parser.add_argument("--warmup", type=int, default=2, help="task updates not measured")
    parser.add_argument(
        "--soak", type=int, default=0, help="title changes back to back after the measured ones"
    )
    parser.add_argument(
        "--no-multiplexing",
        dest="multiplexing",
        action="store_false",
        help="SUBSCRIPTION_MULTIPLEXING=false: each subscription its own loop (as before)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated: embedded (in-process pub/sub), redis (REDIS_URL)",
    )
    parser.add_argument(
        "--event-timeout",
        type=float,
        default=60.0,
        help="fail if an event has not reached every subscriber after this many seconds",
    )
    parser.add_argument(
        "--no-pg-stats",
        dest="pg_stats",
        action="store_false",
        help="skip the DB transactions and connections per event"
        f" (saves {2 * PG_STATS_SETTLE_S:g} s per scenario)",
    )


def check(args: argparse.Namespace) -> str | None:
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    if not args.scenarios or set(args.scenarios) - set(SCENARIOS):
        return f"--scenarios: one or more of {', '.join(SCENARIOS)}"
    if not 1 <= args.subscriptions <= 100_000:
        return "--subscriptions is 1..100000"
    if not 1 <= args.events <= 10_000 or not 0 <= args.warmup <= 100:
        return "--events is 1..10000 and --warmup 0..100"
    if not 0 <= args.soak <= 100_000:
        return "--soak is 0..100000"
    if not 1 <= args.event_timeout <= 600:
        return "--event-timeout is 1..600 s"
    return None


if __name__ == "__main__":
    main(
        Scenario(
            name="subscriptions_fanout",
            doc=__doc__,
            run=benchmark,
            markdown=markdown,
            database="gotong_bench_fanout",
            add_arguments=add_arguments,
            check=check,
            redis=("GOTONG_BENCH_FANOUT_REDIS", "redis://127.0.0.1:6379/12"),
            needs_redis=lambda args: "redis" in args.scenarios,
        )
    )
