"""Benchmark: `taskUpdated` fan-out to 1,000 idle subscriptions on one API process.

    .venv/bin/python bench/subscriptions_fanout.py [--subscriptions 1000] [--events 20]

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
   commit) to the first and to the last of the subscribers receiving the `next` message.

Every subscriber must receive every event exactly once and in order, or the run fails. Prints a
markdown table and writes bench/results/subscriptions_fanout.json. The server is stopped, Redis
flushed and the database dropped at the end, also after an error. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis
from common import (
    BENCH_DIR,
    PG_ADMIN_DSN,
    REPO_DIR,
    database_url,
    free_port,
    git_state,
    log,
    percentile,
    venv_script,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gotong_gql import migrate
from gotong_gql.graphql.view import MAX_SUBSCRIPTIONS_PER_CONNECTION

RESULTS_FILE = BENCH_DIR / "results" / "subscriptions_fanout.json"

REDIS_URL = os.environ.get("GOTONG_BENCH_FANOUT_REDIS", "redis://127.0.0.1:6379/12")
SCENARIOS = ("embedded", "redis")
PASSWORD = "fan-out bench password"
ORGANIZER = "bench_organizer"
CONTRIBUTOR = "bench_contributor"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 30.0
# PostgreSQL 15 flushes an idle backend's statistics at most 10 s after its last transaction.
PG_STATS_SETTLE_S = 11.0
QUIET_CORES = 0.3  # other processes' CPU use above which the machine is not quiet

SUBSCRIPTION = "subscription($id: ID!) { taskUpdated(taskId: $id) { type at task { id title } } }"
TASK_UPDATE = (
    "mutation($id: ID!, $title: String!) { taskUpdate(input: {taskId: $id, title: $title})"
    " { task { id title } errors { code message } } }"
)


# --- PostgreSQL, Redis, /proc -------------------------------------------------------------------


async def pg_admin(sql: str, *params: Any) -> Any:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        return await connection.fetchval(sql, *params)
    finally:
        await connection.close()


async def database_counters(database: str) -> tuple[int, int]:
    """Transactions (committed + rolled back) and sessions (connections) of `database` so far,
    from pg_stat_database."""
    row = await pg_admin(
        "SELECT ARRAY[xact_commit + xact_rollback, sessions] FROM pg_stat_database"
        " WHERE datname = $1",
        database,
    )
    if row is None:
        raise RuntimeError(f"no pg_stat_database row for {database}")
    return int(row[0]), int(row[1])


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        client.flushdb()
    finally:
        client.close()


def proc_status_kb(pid: int, key: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent not idle, summed over every core, since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = values[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


async def background_cores(seconds: float = 1.0) -> float:
    """Cores busy on the machine over `seconds`, minus this process."""
    machine, mine = machine_busy_seconds(), time.process_time()
    await asyncio.sleep(seconds)
    used = machine_busy_seconds() - machine - (time.process_time() - mine)
    return round(max(0.0, used / seconds), 2)


async def wait_for_quiet(max_wait: float) -> float:
    """Waits (at most max_wait s) until other processes use under QUIET_CORES; returns the last
    load seen, so that a run on a busy machine says so."""
    deadline = time.monotonic() + max_wait
    while True:
        load = await background_cores()
        if load < QUIET_CORES or time.monotonic() >= deadline:
            if load >= QUIET_CORES:
                log(f"the machine is busy: {load:.2f} cores used by other processes")
            return load


def process_cpu_seconds() -> dict[int, tuple[str, float]]:
    """Every process's name and CPU seconds (user + system), by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                found[int(entry.name)] = (name, cpu_seconds(int(entry.name)))
            except (OSError, IndexError, ValueError):
                continue
    return found


def busiest(before: dict[int, tuple[str, float]], skip: set[int], count: int = 5) -> list[Any]:
    """The processes that used the most CPU since `before` (those alive at both ends)."""
    after = process_cpu_seconds()
    used = [
        (after[pid][1] - before[pid][1], pid, after[pid][0])
        for pid in after.keys() & before.keys()
        if pid not in skip and after[pid][0] == before[pid][0]
    ]
    return [
        {"pid": pid, "name": name, "cpu_seconds": round(seconds, 2)}
        for seconds, pid, name in sorted(used, reverse=True)[:count]
        if seconds > 0
    ]


def postgres_cpu_seconds(database: str) -> float:
    """CPU time of the PostgreSQL backends serving `database` (their title names it), plus that
    of the postmaster's exited children: the pool closes its overflow connections after each
    fan-out, and their backends' time would be lost otherwise (it includes any other exited
    backend of the server, so the machine should be quiet)."""
    total, marker, postmasters = 0.0, f" {database} ".encode(), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            if title.startswith(b"postgres:") and marker in title:
                total += cpu_seconds(int(entry.name))
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                postmasters.add(int(stat[1]))
        except (OSError, IndexError, ValueError):
            continue
    for pid in postmasters:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return total


async def wait_until_idle(
    pid: int, *, at_least: float, window: float = 0.5, max_wait: float = 30.0
) -> float:
    """Waits `at_least` seconds, then until the process used under 10 ms of CPU over `window`
    (at most `max_wait`); returns the seconds waited."""
    started = time.monotonic()
    await asyncio.sleep(at_least)
    while time.monotonic() - started < max_wait:
        before = cpu_seconds(pid)
        await asyncio.sleep(window)
        if cpu_seconds(pid) - before < 0.01:
            break
    return time.monotonic() - started


# --- statistics ---------------------------------------------------------------------------------


def summary_ms(values: list[float]) -> dict[str, float | int | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "count": len(values),
        "min": rounded(min(values) if values else None),
        "p50": rounded(percentile(values, 0.50)),
        "p95": rounded(percentile(values, 0.95)),
        "max": rounded(max(values) if values else None),
        "mean": rounded(statistics.fmean(values) if values else None),
    }


# --- the server -----------------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [venv_script("gotong-gql"), *args],
        cwd=REPO_DIR,
        env={**env, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"gotong-gql {args[0]} failed:\n{done.stdout}{done.stderr}")


@dataclass
class Server:
    """`gotong-gql serve` (one uvicorn process: its pid is the server's) with a log file."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [venv_script("gotong-gql"), "serve", "--port", str(self.port)],
                cwd=REPO_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = time.monotonic()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                raise RuntimeError(f"server not up after {STARTUP_TIMEOUT_S:.0f} s:\n{self.tail()}")
            time.sleep(0.05)
        log(f"server up (pid {self.pid}, port {self.port}) in {time.monotonic() - started:.2f} s")

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{self.tail()}")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log(f"server ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s: SIGKILL")
            process.kill()
            process.wait(STOP_TIMEOUT_S)
        log(f"stopped the server (exit code {process.returncode})")


def graphql(
    client: httpx.Client, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("errors"):
        raise RuntimeError(f"GraphQL answered {response.status_code}: {response.text[:500]}")
    data = body["data"]
    payload = next(iter(data.values()))
    if isinstance(payload, dict) and payload.get("errors"):
        raise RuntimeError(f"GraphQL payload errors: {payload['errors']}")
    return data


def login(client: httpx.Client, username: str) -> str:
    data = graphql(
        client,
        "mutation($l: String!, $p: String!) { tokenCreate(input: {login: $l, password: $p})"
        " { accessToken } }",
        {"l": username, "p": PASSWORD},
    )
    token = data["tokenCreate"]["accessToken"]
    if not token:
        raise RuntimeError(f"no access token for {username}: {data}")
    return token


# --- the subscribers ------------------------------------------------------------------------------


@dataclass
class Tracker:
    """Which event each subscription received, in arrival order, and when each arrived."""

    task_id: str
    subscriptions: int
    titles: dict[str, int] = field(default_factory=dict)  # title -> event index
    received: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    arrivals: list[list[float]] = field(default_factory=list)  # per event: perf_counter()s
    complete: list[asyncio.Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failed: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False

    def expect(self, title: str) -> int:
        index = len(self.arrivals)
        self.titles[title] = index
        self.arrivals.append([])
        self.complete.append(asyncio.Event())
        return index

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)
        self.failed.set()

    def on_message(self, connection: int, raw: str | bytes, at: float) -> bool:
        """Records a message; True for a graphql-transport-ws `ping` (to be answered)."""
        message = json.loads(raw)
        kind, key = message.get("type"), (connection, message.get("id"))
        if kind == "ping":
            return True
        if kind != "next" or key not in self.received:
            self.problem(f"connection {connection}: unexpected message {str(message)[:300]}")
            return False
        payload = message.get("payload") or {}
        event = (payload.get("data") or {}).get("taskUpdated")
        if payload.get("errors") or not event:
            self.problem(f"subscription {key}: {str(payload)[:300]}")
            return False
        index = self.titles.get(event["task"]["title"])
        if event["type"] != "UPDATED" or event["task"]["id"] != self.task_id or index is None:
            self.problem(f"subscription {key}: unexpected event {event}")
            return False
        self.received[key].append(index)
        arrivals = self.arrivals[index]
        arrivals.append(at)
        if len(arrivals) == self.subscriptions:
            self.complete[index].set()
        elif len(arrivals) > self.subscriptions:
            self.problem(f"event {index} arrived {len(arrivals)} times")
        return False

    def check_exactly_once_in_order(self) -> None:
        expected = list(range(len(self.arrivals)))
        wrong = {key: got for key, got in self.received.items() if got != expected}
        if wrong:
            key, got = next(iter(wrong.items()))
            raise RuntimeError(
                f"{len(wrong)} of {len(self.received)} subscriptions did not receive every event"
                f" exactly once in order; e.g. {key} got {got[:50]}, expected {expected}"
            )


async def read(ws: ClientConnection, connection: int, tracker: Tracker) -> None:
    try:
        async for raw in ws:
            if tracker.on_message(connection, raw, time.perf_counter()):
                await ws.send(json.dumps({"type": "pong"}))
    except ConnectionClosed as exc:
        if not tracker.closing:
            tracker.problem(f"connection {connection} closed: {exc}")
    except Exception as exc:  # a reader must not die silently
        tracker.problem(f"connection {connection}: {exc!r}")


async def open_connection(url: str, token: str) -> ClientConnection:
    ws = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30)
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"connection_init answered with {ack}")
    return ws


# --- one scenario ---------------------------------------------------------------------------------


def connection_count(subscriptions: int) -> int:
    return math.ceil(subscriptions / MAX_SUBSCRIPTIONS_PER_CONNECTION)


async def scenario(
    name: str, env: dict[str, str], args: argparse.Namespace, log_dir: Path, state: dict[str, Any]
) -> dict[str, Any]:
    if name == "redis":
        env = {**env, "REDIS_URL": REDIS_URL}
        await asyncio.to_thread(flush_redis)
    server = Server(env, log_dir / f"server-{name}.log")
    client = httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT_S)
    sockets: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    tracker: Tracker | None = None
    try:
        await asyncio.to_thread(server.start)
        organizer = await asyncio.to_thread(login, client, ORGANIZER)
        if not state.get("registered"):
            await asyncio.to_thread(
                graphql,
                client,
                "mutation($u: String!, $e: String!, $p: String!) { accountRegister(input:"
                " {username: $u, email: $e, password: $p}) { errors { code message } } }",
                {"u": CONTRIBUTOR, "e": f"{CONTRIBUTOR}@bench.example.org", "p": PASSWORD},
            )
            state["registered"] = True
        contributor = await asyncio.to_thread(login, client, CONTRIBUTOR)
        created = await asyncio.to_thread(
            graphql,
            client,
            "mutation($t: String!) { taskCreate(input: {title: $t}) { task { id } errors"
            " { code message } } }",
            {"t": f"Fan-out {name}"},
            organizer,
        )
        task_id = created["taskCreate"]["task"]["id"]
        tracker = Tracker(task_id=task_id, subscriptions=args.subscriptions)

        # Memory: before the connections, with them, with every subscription idle.
        pid = server.pid
        await wait_until_idle(pid, at_least=1.0)
        rss_before = proc_status_kb(pid, "VmRSS")
        ws_url = server.base_url.replace("http://", "ws://") + "/graphql"
        connections = connection_count(args.subscriptions)
        sockets.extend(
            await asyncio.gather(
                *(open_connection(ws_url, contributor) for _ in range(connections))
            )
        )
        extensions = sockets[0].response.headers.get("Sec-WebSocket-Extensions")
        await wait_until_idle(pid, at_least=1.0)
        rss_connected = proc_status_kb(pid, "VmRSS")
        for index, ws in enumerate(sockets):
            readers.append(asyncio.create_task(read(ws, index, tracker)))
        subscribe_started = time.perf_counter()
        remaining = args.subscriptions
        for index, ws in enumerate(sockets):
            for number in range(min(remaining, MAX_SUBSCRIPTIONS_PER_CONNECTION)):
                tracker.received[(index, str(number))] = []
                message = {
                    "id": str(number),
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": task_id}},
                }
                await ws.send(json.dumps(message))
                remaining -= 1
        # No message confirms a subscription: wait until the server is idle (every generator is
        # waiting on its queue); the first event then proves all of them were registered.
        waited = await wait_until_idle(pid, at_least=1.0)
        if tracker.failed.is_set():
            raise RuntimeError(f"subscribing failed: {tracker.problems}")
        rss_idle = proc_status_kb(pid, "VmRSS")
        subscribe_s = time.perf_counter() - subscribe_started
        log(
            f"{name}: {args.subscriptions} subscriptions on {connections} connections;"
            f" RSS {rss_before} -> {rss_connected} -> {rss_idle} kB"
        )

        # Fan-out: one title change at a time, each waited for at every subscriber.
        def mutate(title: str) -> tuple[float, float]:
            sent = time.perf_counter()
            graphql(client, TASK_UPDATE, {"id": task_id, "title": title}, organizer)
            return sent, time.perf_counter()

        total = args.warmup + args.events
        if args.pg_stats:
            await asyncio.sleep(PG_STATS_SETTLE_S)  # the setup's transactions counted before
        counters_before = await database_counters(args.database)
        samples: list[dict[str, Any]] = []
        cpu_before: dict[str, float] = {}
        measured_started = time.perf_counter()
        processes_before = process_cpu_seconds()
        background = await wait_for_quiet(args.quiet_wait)
        for index in range(total):
            if index == args.warmup:
                await wait_until_idle(pid, at_least=0.5)
                cpu_before = {
                    "server": cpu_seconds(pid),
                    "postgres": postgres_cpu_seconds(args.database),
                    "bench": time.process_time(),
                    "machine": machine_busy_seconds(),
                }
                processes_before = process_cpu_seconds()
                measured_started = time.perf_counter()
            else:
                await wait_until_idle(pid, at_least=0.2, window=0.2, max_wait=10.0)
            server.check_alive()
            event = tracker.expect(f"Fan-out {name} #{index:03d}")
            sent, answered = await asyncio.to_thread(mutate, f"Fan-out {name} #{index:03d}")
            done = asyncio.create_task(tracker.complete[event].wait())
            failed = asyncio.create_task(tracker.failed.wait())
            await asyncio.wait(
                {done, failed}, timeout=args.event_timeout, return_when="FIRST_COMPLETED"
            )
            done.cancel()
            failed.cancel()
            if tracker.failed.is_set():
                raise RuntimeError(f"event {index}: {tracker.problems}")
            arrivals = sorted(tracker.arrivals[event])
            if len(arrivals) < args.subscriptions:
                raise RuntimeError(
                    f"event {index}: {len(arrivals)} of {args.subscriptions} subscribers received"
                    f" it within {args.event_timeout:g} s"
                )
            samples.append(
                {
                    "event": index,
                    "warmup": index < args.warmup,
                    "mutation_ms": round((answered - sent) * 1000, 2),
                    "response_to_first_ms": round((arrivals[0] - answered) * 1000, 2),
                    "response_to_median_ms": round(
                        (statistics.median(arrivals) - answered) * 1000, 2
                    ),
                    "response_to_last_ms": round((arrivals[-1] - answered) * 1000, 2),
                    "sent_to_last_ms": round((arrivals[-1] - sent) * 1000, 2),
                    "server_rss_kb": proc_status_kb(pid, "VmRSS"),
                }
            )
            log(
                f"{name} event {index}{' (warm-up)' if index < args.warmup else ''}: response"
                f" -> first {samples[-1]['response_to_first_ms']} ms,"
                f" -> last {samples[-1]['response_to_last_ms']} ms"
            )
        await wait_until_idle(pid, at_least=0.5)
        measured_s = time.perf_counter() - measured_started
        cpu = {
            "server": cpu_seconds(pid) - cpu_before["server"],
            "postgres": postgres_cpu_seconds(args.database) - cpu_before["postgres"],
            "bench": time.process_time() - cpu_before["bench"],
            "machine": machine_busy_seconds() - cpu_before["machine"],
        }
        cpu["other"] = cpu["machine"] - cpu["server"] - cpu["postgres"] - cpu["bench"]
        other_processes = busiest(processes_before, {pid, os.getpid()})
        await asyncio.sleep(1.0)  # late duplicates would show here
        if tracker.failed.is_set():
            raise RuntimeError(f"after the events: {tracker.problems}")
        tracker.check_exactly_once_in_order()
        rss_after = proc_status_kb(pid, "VmRSS")
        rss_peak = proc_status_kb(pid, "VmHWM")
        if args.pg_stats:
            await asyncio.sleep(PG_STATS_SETTLE_S)
        counters_after = await database_counters(args.database)
        server.check_alive()
    finally:
        if tracker is not None:
            tracker.closing = True
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        await asyncio.to_thread(client.close)
        await asyncio.to_thread(server.stop)
        if name == "redis":
            await asyncio.to_thread(flush_redis)

    measured = [sample for sample in samples if not sample["warmup"]]
    per_event = [
        round((after - before) / total, 1) if args.pg_stats else None
        for before, after in zip(counters_before, counters_after, strict=True)
    ]
    return {
        "scenario": name,
        "pubsub": "Redis pub/sub" if name == "redis" else "in-process",
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
            "per_subscription": round((rss_idle - rss_before) / args.subscriptions, 2),
            "per_subscription_without_connections": round(
                (rss_idle - rss_connected) / args.subscriptions, 2
            ),
            "per_connection": round((rss_connected - rss_before) / connections, 1),
        },
        "events": args.events,
        "warmup_events": args.warmup,
        "response_to_first_ms": summary_ms([s["response_to_first_ms"] for s in measured]),
        "response_to_median_ms": summary_ms([s["response_to_median_ms"] for s in measured]),
        "response_to_last_ms": summary_ms([s["response_to_last_ms"] for s in measured]),
        "sent_to_last_ms": summary_ms([s["sent_to_last_ms"] for s in measured]),
        "mutation_ms": summary_ms([s["mutation_ms"] for s in measured]),
        "background_cpu_cores_before": background,
        "cpu_seconds_per_event": {key: round(value / args.events, 4) for key, value in cpu.items()},
        "cpu_cores_measured": {key: round(value / measured_s, 2) for key, value in cpu.items()},
        # Over the warm-up and measured events, from pg_stat_database.
        "busiest_processes_except_server_and_bench": other_processes,
        "database_transactions_per_event": per_event[0],
        "database_connections_opened_per_event": per_event[1],
        "samples": samples,
    }


# --- the run --------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace, url: str, log_dir: Path) -> dict[str, Any]:
    git = git_state()
    env = {
        **os.environ,
        "GOTONG_ENV": "development",
        "VAR_DIR": str(log_dir / "var"),
        "DATABASE_URL": url,
        "JWT_SECRET": secrets.token_urlsafe(48),
        # Subscriptions end when their token expires (15 min by default): not during the run.
        "ACCESS_TOKEN_TTL_SECONDS": "3600",
        # The 1,000 subscriptions of one account stand for 1,000 people.
        "RATE_LIMIT_ENABLED": "false",
    }
    env.pop("REDIS_URL", None)
    await asyncio.to_thread(
        cli,
        "user",
        "create",
        "--username",
        ORGANIZER,
        "--email",
        f"{ORGANIZER}@bench.example.org",
        "--password",
        PASSWORD,
        "--role",
        "organizer",
        env=env,
    )
    state: dict[str, Any] = {}
    results = []
    for name in args.scenarios:
        results.append(await scenario(name, env, args, log_dir, state))
    return {
        "benchmark": "subscriptions_fanout",
        "git": git,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "database": args.database,
            "redis_url": REDIS_URL,
            "subscriptions": args.subscriptions,
            "max_subscriptions_per_connection": MAX_SUBSCRIPTIONS_PER_CONNECTION,
            "events": args.events,
            "warmup": args.warmup,
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


def markdown(report: dict[str, Any]) -> str:
    def value(number: Any) -> str:
        return "n/a" if number is None else f"{number:g}"

    lines = [
        "| pub/sub | subscriptions (connections) | KB / idle subscription "
        "| response -> first p50 / p95 ms | response -> last p50 / p95 ms | mutation p50 ms "
        "| CPU s / event: server / PostgreSQL / client | other processes, cores "
        "| DB transactions / connections per event |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in report["scenarios"]:
        first, last = run["response_to_first_ms"], run["response_to_last_ms"]
        cpu = run["cpu_seconds_per_event"]
        lines.append(
            f"| {run['pubsub']} | {run['subscriptions']} ({run['connections']}) "
            f"| {value(run['memory_kb']['per_subscription'])} "
            f"| {value(first['p50'])} / {value(first['p95'])} "
            f"| {value(last['p50'])} / {value(last['p95'])} "
            f"| {value(run['mutation_ms']['p50'])} "
            f"| {value(cpu['server'])} / {value(cpu['postgres'])} / {value(cpu['bench'])} "
            f"| {value(run['cpu_cores_measured']['other'])} "
            f"| {value(run['database_transactions_per_event'])}"
            f" / {value(run['database_connections_opened_per_event'])} |"
        )
    config = report["config"]
    lines += [
        "",
        f"One `gotong-gql serve` process on {report['machine']['cpus']} CPUs;"
        f" {config['events']} `taskUpdate` events (after {config['warmup']} warm-up ones), each"
        " received by every subscriber exactly once, in order. Response -> first / last: from the"
        " mutation's HTTP response (after its commit) to the first / last subscriber's `next`"
        " message. KB / idle subscription: the server's VmRSS with every subscription idle minus"
        " before the WebSocket connections, divided by the subscriptions. **The times include the"
        " benchmark's client, on the same machine as the server and PostgreSQL** (one asyncio"
        " loop reads every WebSocket). Other processes: cores used by the rest of the machine"
        " during the events; above 0.3 the numbers are not to be trusted.",
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000, help="on the one task")
    parser.add_argument("--events", type=int, default=20, help="measured task updates")
    parser.add_argument("--warmup", type=int, default=2, help="task updates not measured")
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
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="seconds to wait at most for other processes to go quiet before the events",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="fail if the whole run takes longer"
    )
    parser.add_argument("--database", default="gotong_bench_fanout", help="created, dropped")
    args = parser.parse_args()
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    if not args.scenarios or set(args.scenarios) - set(SCENARIOS):
        parser.error(f"--scenarios: one or more of {', '.join(SCENARIOS)}")
    if not 1 <= args.subscriptions <= 100_000:
        parser.error("--subscriptions is 1..100000")
    if not 1 <= args.events <= 10_000 or not 0 <= args.warmup <= 100:
        parser.error("--events is 1..10000 and --warmup 0..100")
    if not 1 <= args.event_timeout <= 600:
        parser.error("--event-timeout is 1..600 s")
    if not 0 <= args.quiet_wait <= 600:
        parser.error("--quiet-wait is 0..600 s")
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
        url = database_url(args.database)
        migrate.upgrade(url)  # runs its own event loop
        with tempfile.TemporaryDirectory(prefix="gotong-bench-fanout-") as log_dir:
            try:
                return asyncio.run(bounded(args, url, Path(log_dir)))
            except BaseException:
                for server_log in sorted(Path(log_dir).glob("server-*.log")):
                    tail = "\n".join(server_log.read_text(errors="replace").splitlines()[-30:])
                    log(f"{server_log.name} (last lines):\n{tail}")
                raise
    finally:
        if "redis" in args.scenarios:
            flush_redis()
        asyncio.run(pg_admin(drop))
        log(f"dropped database {args.database}")


def main() -> None:
    args = parse_args()
    try:
        report = run(args)
    except RuntimeError as exc:  # a server that did not start, a lost event, a timeout
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
