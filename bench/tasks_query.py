"""Benchmark: the `tasks(first: 50)` query of gotong-gql against a plain Starlette + asyncpg floor.

    .venv/bin/python bench/tasks_query.py [--duration 15] [--warmup 3] [--concurrency 50]

Creates a fresh PostgreSQL database, migrates and seeds it, serves it with `gotong-gql serve` and
with `bench/plain_floor.py` (each a uvicorn subprocess on a free port), checks that both answer
the same 50 tasks, then loads each server in turn with concurrent keep-alive clients for a fixed
time. Prints a markdown table and writes bench/results/tasks_query.json. The servers are stopped
and the database dropped at the end, also after an error. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import (
    BENCH_DIR,
    REPO_DIR,
    database_url,
    free_port,
    git_state,
    log,
    pg_admin,
    venv_script,
)
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from gotong_gql import migrate
from gotong_gql.security import TokenCodec, hash_password
from gotong_gql.settings import Settings
from gotong_gql.skill.models import Skill
from gotong_gql.task.models import Task, TaskSkill
from gotong_gql.user.models import User

RESULTS_FILE = BENCH_DIR / "results" / "tasks_query.json"

PAGE_SIZE = 50
QUERY = (
    "{ tasks(first: 50) { edges { node { id title status creator { username } "
    "assignee { username } skills { name } } } } }"
)
BENCH_USERNAME = "bench_viewer"
BENCH_PASSWORD = "bench-password-not-secret"
SEED = 20240601
SKILL_WORDS = (
    "accounting",
    "carpentry",
    "cleanup",
    "cooking",
    "driving",
    "electronics",
    "first-aid",
    "gardening",
    "masonry",
    "painting",
    "planting",
    "plumbing",
    "sewing",
    "teaching",
    "translation",
    "welding",
)
STARTUP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
QUIET_CORES = 0.3  # other processes' CPU use above which the machine is not quiet


# --- database ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedSummary:
    users: int
    skills: int
    tasks: int
    task_skills: int
    assigned_tasks: int
    viewer_id: uuid.UUID


def seed_rows(n_tasks: int, n_users: int) -> tuple[dict[str, list[dict[str, Any]]], uuid.UUID]:
    """Deterministic rows for every table (by column name), and the benchmark viewer's id."""
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(microsecond=0)
    password_hash = hash_password(BENCH_PASSWORD)  # one Argon2 hash, shared: only login reads it

    users = []
    for index in range(n_users + 1):
        user_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        username = BENCH_USERNAME if index == 0 else f"user_{index:04d}"
        created = now - timedelta(days=90, minutes=index)
        users.append(
            {
                "id": user_id,
                "username": username,
                "email": f"{username}@bench.example.org",
                "password_hash": password_hash,
                "markov_user_id": f"gotong_royong:{user_id}",
                "bio": None,
                "location": None,
                "avatar_url": None,
                "created_at": created,
                "updated_at": created,
            }
        )
    viewer_id = users[0]["id"]
    people = [user["id"] for user in users[1:]]
    creators = people[: max(1, len(people) // 5)]

    skills = [
        {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "name": name,
            "category": None,
            "description": None,
            "created_at": now - timedelta(days=90),
        }
        for name in SKILL_WORDS
    ]

    tasks, task_skills = [], []
    start = now - timedelta(days=60)
    for index in range(n_tasks):
        task_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        # Pairs of tasks share created_at, so the id tie-break decides part of the order.
        created = start + timedelta(minutes=7 * (index // 2))
        status = rng.choices(
            ("open", "assigned", "in_progress", "completed", "cancelled"), (4, 2, 2, 1, 1)
        )[0]
        assigned = status in ("assigned", "in_progress", "completed")
        tasks.append(
            {
                "id": task_id,
                "creator_id": rng.choice(creators),
                "assignee_id": rng.choice(people) if assigned else None,
                "title": f"Task {index:04d}: {rng.choice(SKILL_WORDS)} for the neighbourhood",
                "description": "Bring gloves and water.",
                "status": status,
                "difficulty": rng.choice((None, "easy", "intermediate", "hard")),
                "location": None,
                "latitude": None,
                "longitude": None,
                "estimated_hours": rng.choice((None, 1.0, 2.5, 4.0, 8.0)),
                "metadata": {"source": "bench"},
                "created_at": created,
                "updated_at": created,
                "completed_at": created + timedelta(hours=3) if status == "completed" else None,
            }
        )
        for skill in rng.sample(skills, rng.randint(1, 3)):
            task_skills.append({"task_id": task_id, "skill_id": skill["id"]})
    rows = {"users": users, "skills": skills, "tasks": tasks, "task_skills": task_skills}
    return rows, viewer_id


async def seed(url: str, n_tasks: int, n_users: int) -> SeedSummary:
    rows, viewer_id = seed_rows(n_tasks, n_users)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for model, table in (
                (User, "users"),
                (Skill, "skills"),
                (Task, "tasks"),
                (TaskSkill, "task_skills"),
            ):
                await connection.execute(insert(model.__table__), rows[table])
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return SeedSummary(
        users=len(rows["users"]),
        skills=len(rows["skills"]),
        tasks=len(rows["tasks"]),
        task_skills=len(rows["task_skills"]),
        assigned_tasks=sum(task["assignee_id"] is not None for task in rows["tasks"]),
        viewer_id=viewer_id,
    )


# --- servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextmanager
def running(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> Iterator[Server]:
    """A server subprocess (its own session, output to a log file), stopped on the way out."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=REPO_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log(f"started {name} (pid {process.pid}) on port {port}")
    try:
        yield Server(name, process, f"http://127.0.0.1:{port}", log_path)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)
        log(f"stopped {name} (exit code {process.returncode})")


async def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            try:
                if (await client.get(f"{server.base_url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(
        f"{server.name} not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
    )


# --- checks and load --------------------------------------------------------------------------


async def fetch_page(server: Server, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """One request; anything but 200 with 50 tasks and no `errors` stops the benchmark."""
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
        response = await client.post(f"{server.base_url}/graphql", content=body, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{server.name}: HTTP {response.status_code}: {response.text[:2000]}")
    payload = response.json()
    if payload.get("errors"):
        raise RuntimeError(f"{server.name}: GraphQL errors: {payload['errors']}")
    edges = (payload.get("data") or {}).get("tasks", {}).get("edges")
    if not isinstance(edges, list) or len(edges) != PAGE_SIZE:
        raise RuntimeError(f"{server.name}: expected {PAGE_SIZE} edges: {response.text[:2000]}")
    return payload


def compare_pages(app: dict[str, Any], floor: dict[str, Any]) -> None:
    app_titles = [edge["node"]["title"] for edge in app["data"]["tasks"]["edges"]]
    floor_titles = [edge["node"]["title"] for edge in floor["data"]["tasks"]["edges"]]
    if app_titles != floor_titles:
        raise RuntimeError(f"the servers disagree on the tasks:\n{app_titles}\n{floor_titles}")
    # The endpoint also reports `extensions.cost` (the hardening); the data must be the same.
    if app["data"] != floor["data"]:
        for index, (a, b) in enumerate(
            zip(app["data"]["tasks"]["edges"], floor["data"]["tasks"]["edges"], strict=True)
        ):
            if a != b:
                raise RuntimeError(f"the servers disagree on task {index}:\n{a}\n{b}")
        raise RuntimeError("the servers' data differ outside the edges")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU seconds spent not idle, summed over every core, since boot (Linux /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = values[:7]  # not steal, not guests
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def backend_cpu_seconds(database: str) -> dict[int, float]:
    """CPU time of each PostgreSQL backend serving `database` (its title names the database)."""
    found = {}
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") and marker in title:
            seconds = cpu_seconds(int(entry.name))
            if seconds is not None:
                found[int(entry.name)] = seconds
    return found


@dataclass
class CpuSample:
    server: float | None
    database: dict[int, float]
    client: float
    machine: float | None

    @classmethod
    def take(cls, pid: int, database: str) -> CpuSample:
        return cls(
            cpu_seconds(pid),
            backend_cpu_seconds(database),
            time.process_time(),
            machine_busy_seconds(),
        )


def cores_used(before: CpuSample, after: CpuSample, seconds: float) -> dict[str, float | None]:
    """Cores used over the window by the server, its PostgreSQL backends, this client, the rest."""

    def rate(start: float | None, end: float | None) -> float | None:
        return None if start is None or end is None else (end - start) / seconds

    used = {
        "server": rate(before.server, after.server),
        "postgres": sum(
            after.database[pid] - before.database.get(pid, 0.0) for pid in after.database
        )
        / seconds,
        "client": rate(before.client, after.client),
    }
    machine = rate(before.machine, after.machine)
    known = [value for value in used.values() if value is not None]
    used["other"] = None if machine is None else machine - sum(known)
    return {name: None if value is None else round(value, 2) for name, value in used.items()}


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends one fixed, pre-encoded request.

    httpx spends about 1-2 ms of client CPU per request; on a 2-core machine that is CPU taken
    from the servers, and the fast one (the floor) would be measured against the client. This
    costs a few microseconds: write the bytes, read the head, read Content-Length bytes.
    """

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self._address = (host, port)
        self._request = request
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(*self._address)
        assert self._reader is not None
        self._writer.write(self._request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if b"content-length" not in headers:
            raise RuntimeError(f"response without Content-Length: {head!r}")
        body = await self._reader.readexactly(int(headers[b"content-length"]))
        if headers.get(b"connection") == b"close":
            await self.close()
        return int(status_line.split(b" ", 2)[1]), body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer, self._reader = None, None


Send = Callable[[], Awaitable[tuple[int, bytes]]]


@asynccontextmanager
async def open_client(
    kind: str, server: Server, body: bytes, headers: dict[str, str]
) -> AsyncIterator[Send]:
    """One client (one connection) of the load: `raw` (RawConnection) or `httpx`."""
    if kind == "httpx":
        # A client each: one AsyncClient shared by 50 tasks spends most of its time in its pool.
        async with httpx.AsyncClient(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S) as client:

            async def send() -> tuple[int, bytes]:
                response = await client.post("/graphql", content=body, headers=headers)
                return response.status_code, response.content

            yield send
        return
    url = httpx.URL(server.base_url)
    lines = [
        "POST /graphql HTTP/1.1",
        f"Host: {url.host}:{url.port}",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    connection = RawConnection(
        url.host, url.port or 80, ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    )
    try:
        yield connection.send
    finally:
        await connection.close()


async def background_cores(seconds: float = 1.0) -> float | None:
    """Cores busy on the machine over `seconds` while this benchmark waits (others' load)."""
    before = machine_busy_seconds()
    await asyncio.sleep(seconds)
    after = machine_busy_seconds()
    return None if before is None or after is None else round((after - before) / seconds, 2)


async def wait_for_quiet(max_wait: float) -> float | None:
    """Sample the machine until other processes use under QUIET_CORES, or `max_wait` passes."""
    deadline = time.monotonic() + max_wait
    busy = await background_cores()
    while busy is not None and busy > QUIET_CORES and time.monotonic() < deadline:
        busy = await background_cores()
    if busy is not None and busy > QUIET_CORES:
        log(f"WARNING: other processes keep {busy:.2f} cores busy; the numbers will be low")
    return busy


@dataclass
class LoadResult:
    server: str
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    failures: int
    background_cpu_cores: float | None
    cpu_cores: dict[str, float | None]


async def load(
    server: Server, body: bytes, headers: dict[str, str], args: argparse.Namespace
) -> LoadResult:
    """`args.concurrency` closed-loop clients for warm-up + duration; only the second part counts.

    A request counts when it completes inside the measured window. A failure (warm-up included)
    ends its client and then the benchmark.
    """
    background = await wait_for_quiet(args.quiet_wait)
    latencies: list[float] = []
    failures: list[str] = []
    begin = time.perf_counter()
    window_start = begin + args.warmup
    window_end = window_start + args.duration

    async def client_loop() -> None:
        async with open_client(args.client, server, body, headers) as send:
            while (sent := time.perf_counter()) < window_end:
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT_S):
                        status, content = await send()
                except (
                    OSError,
                    TimeoutError,
                    asyncio.IncompleteReadError,
                    RuntimeError,
                    httpx.HTTPError,
                ) as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                done = time.perf_counter()
                if status != 200 or b'"errors"' in content:
                    failures.append(f"HTTP {status}: {content[:500]!r}")
                    return
                if window_start <= done <= window_end:
                    latencies.append(done - sent)

    async def sample_cpu() -> tuple[CpuSample, CpuSample]:
        await asyncio.sleep(window_start - time.perf_counter())
        first = CpuSample.take(server.process.pid, args.database)
        await asyncio.sleep(window_end - time.perf_counter())
        return first, CpuSample.take(server.process.pid, args.database)

    async with (
        asyncio.timeout(args.warmup + args.duration + REQUEST_TIMEOUT_S + 5),
        asyncio.TaskGroup() as group,
    ):
        sampler = group.create_task(sample_cpu())
        for _ in range(args.concurrency):
            group.create_task(client_loop())
    if failures:
        raise RuntimeError(f"{server.name}: {len(failures)} failed requests, first: {failures[0]}")
    before, after = sampler.result()
    if len(latencies) < 2:
        raise RuntimeError(f"{server.name}: only {len(latencies)} requests in the window")
    percentiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(
        server=server.name,
        requests=len(latencies),
        seconds=args.duration,
        requests_per_second=round(len(latencies) / args.duration, 1),
        p50_ms=round(percentiles[49] * 1000, 2),
        p95_ms=round(percentiles[94] * 1000, 2),
        p99_ms=round(percentiles[98] * 1000, 2),
        mean_ms=round(statistics.fmean(latencies) * 1000, 2),
        failures=len(failures),
        background_cpu_cores=background,
        cpu_cores=cores_used(before, after, args.duration),
    )


# --- the run ----------------------------------------------------------------------------------


async def measure(
    server: Server, body: bytes, headers: dict[str, str], args: argparse.Namespace
) -> tuple[LoadResult, int]:
    """The load on one server, again (at most --retries times) while others disturb it.

    Returns the run in which other processes used the least CPU, and how many runs were made.
    """
    runs: list[LoadResult] = []
    for attempt in range(1 + args.retries):
        log(
            f"loading {server.name}: {args.concurrency} {args.client} clients, "
            f"{args.warmup:g} s warm-up + {args.duration:g} s measured"
        )
        runs.append(await load(server, body, headers, args))
        other = runs[-1].cpu_cores["other"]
        log(f"{server.name}: {runs[-1].requests_per_second} req/s")
        if other is None or other <= QUIET_CORES:
            break
        log(
            f"other processes used {other:.2f} cores during the run: "
            + ("once more" if attempt < args.retries else "keeping the quietest run")
        )
    return min(runs, key=lambda run: run.cpu_cores["other"] or 0.0), len(runs)


async def benchmark(args: argparse.Namespace, url: str, log_dir: Path) -> dict[str, Any]:
    git = git_state()  # the code the servers are about to load
    log(f"seeding {args.tasks} tasks")
    summary = await seed(url, args.tasks, args.users)
    log(f"seeded {summary}")

    jwt_secret = secrets.token_urlsafe(48)  # 64 characters
    # Valid for the whole benchmark, whatever the options say: every run of both servers.
    ttl = 900 + int(2 * (1 + args.retries) * (args.quiet_wait + args.warmup + args.duration + 30))
    token = (
        TokenCodec(Settings(database_url=url, jwt_secret=jwt_secret, access_token_ttl_seconds=ttl))
        .issue(summary.viewer_id, "access")
        .token
    )
    body = json.dumps({"query": QUERY}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    base_env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    app_env = {
        **base_env,
        "JWT_SECRET": jwt_secret,
        "GOTONG_ENV": "development",
        "VAR_DIR": str(log_dir / "var"),
    }
    with ExitStack() as stack:
        app = stack.enter_context(
            running("gotong-gql", [venv_script("gotong-gql"), "serve"], app_env, log_dir)
        )
        floor = stack.enter_context(
            running(
                "plain-floor",
                [sys.executable, str(BENCH_DIR / "plain_floor.py")],
                base_env,
                log_dir,
            )
        )
        await asyncio.gather(wait_healthy(app), wait_healthy(floor))
        compare_pages(await fetch_page(app, body, headers), await fetch_page(floor, body, headers))
        log(f"both servers answer the same {PAGE_SIZE} tasks")

        results = [await measure(server, body, headers, args) for server in (app, floor)]

    (app_result, app_runs), (floor_result, floor_runs) = results
    return {
        "benchmark": "tasks_query",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "query": QUERY,
            "tasks": summary.tasks,
            "users": summary.users,
            "skills": summary.skills,
            "task_skills": summary.task_skills,
            "assigned_tasks": summary.assigned_tasks,
            "client": args.client,
            "concurrency": args.concurrency,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
        },
        "results": {"gotong": asdict(app_result), "floor": asdict(floor_result)},
        "runs": {"gotong": app_runs, "floor": floor_runs},
        "ratio_gotong_over_floor": {
            "requests_per_second": round(
                app_result.requests_per_second / floor_result.requests_per_second, 3
            ),
            "p50": round(app_result.p50_ms / floor_result.p50_ms, 2),
            "p95": round(app_result.p95_ms / floor_result.p95_ms, 2),
        },
    }


def markdown(report: dict[str, Any]) -> str:
    def cores(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    lines = [
        "| server | req/s | p50 ms | p95 ms | server CPU | PostgreSQL CPU | client CPU "
        "| other CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "gotong": "gotong-gql (Strawberry + SQLAlchemy)",
        "floor": "floor (Starlette + asyncpg)",
    }
    for key, label in labels.items():
        result = report["results"][key]
        cpu = " | ".join(
            cores(result["cpu_cores"][name]) for name in ("server", "postgres", "client", "other")
        )
        lines.append(
            f"| {label} | {result['requests_per_second']:.1f} | {result['p50_ms']:.1f} "
            f"| {result['p95_ms']:.1f} | {cpu} |"
        )
    ratio = report["ratio_gotong_over_floor"]
    config = report["config"]
    background = ", ".join(
        f"{key} {cores(report['results'][key]['background_cpu_cores'])}" for key in labels
    )
    runs = ", ".join(f"{key} {report['runs'][key]}" for key in labels)
    lines += [
        f"| **gotong / floor** | **{ratio['requests_per_second']:.3f}** "
        f"| {ratio['p50']:.2f} | {ratio['p95']:.2f} | | | | |",
        "",
        f"{config['concurrency']} {config['client']} clients, {config['warmup_s']:g} s warm-up + "
        f"{config['duration_s']:g} s measured per server, {config['tasks']} tasks, "
        f"{report['machine']['cpus']} CPUs. CPU columns: cores busy in the measured window (other ="
        f" the rest of the machine). Other processes' load just before each run: {background}."
        f" Runs made (the quietest kept): {runs}.",
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent clients")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks to seed")
    parser.add_argument("--users", type=int, default=200, help="users to seed (plus the viewer)")
    parser.add_argument("--database", default="gotong_bench", help="dropped and recreated")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load client: a minimal HTTP/1.1 one (default) or httpx",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="runs repeated at most when other processes used the CPU meanwhile",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="seconds to wait at most for other processes to go quiet",
    )
    args = parser.parse_args()
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration is 1..600 s and --warmup 0..60 s")
    if not 1 <= args.concurrency <= 500:
        parser.error("--concurrency is 1..500")
    if not PAGE_SIZE <= args.tasks <= 100_000 or not 5 <= args.users <= 100_000:
        parser.error(f"--tasks is {PAGE_SIZE}..100000 and --users 5..100000")
    if not 0 <= args.retries <= 5:
        parser.error("--retries is 0..5")
    if not 0 <= args.quiet_wait <= 600:
        parser.error("--quiet-wait is 0..600 s")
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and _ only")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        uvloop = None
    loop_factory = uvloop.new_event_loop if uvloop else None

    drop = f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'
    asyncio.run(pg_admin(drop))
    asyncio.run(pg_admin(f'CREATE DATABASE "{args.database}"'))
    log(f"created database {args.database}")
    try:
        url = database_url(args.database)
        migrate.upgrade(url)  # runs its own event loop
        with (
            tempfile.TemporaryDirectory(prefix="gotong-bench-") as log_dir,
            asyncio.Runner(loop_factory=loop_factory) as runner,
        ):
            return runner.run(benchmark(args, url, Path(log_dir)))
    finally:
        asyncio.run(pg_admin(drop))
        log(f"dropped database {args.database}")


def main() -> None:
    args = parse_args()
    try:
        report = run(args)
    except RuntimeError as exc:  # a wrong answer, a failed request, a server that did not start
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
