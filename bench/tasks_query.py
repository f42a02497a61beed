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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from gotong_gql import migrate
from gotong_gql.security import TokenCodec, hash_password
from gotong_gql.settings import Settings
from gotong_gql.skill.models import Skill
from gotong_gql.task.models import Task, TaskSkill
from gotong_gql.user.models import User

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "tasks_query.json"

PG_ADMIN_DSN = os.environ.get("GOTONG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PAGE_SIZE = 50
QUERY = (
    "{ tasks(first: 50) { edges { node { id title status creator { username } "
    "assignee { username } skills { name } } } } }"
)
BENCH_USERNAME = "bench_viewer"
BENCH_PASSWORD = "bench-password-not-secret"
SEED = 20240601
SKILL_WORDS = (
    "accounting", "carpentry", "cleanup", "cooking", "driving", "electronics", "first-aid",
    "gardening", "masonry", "painting", "planting", "plumbing", "sewing", "teaching",
    "translation", "welding",
)
STARTUP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- database ---------------------------------------------------------------------------------


async def pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def database_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


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
        users.append({
            "id": user_id, "username": username, "email": f"{username}@bench.example.org",
            "password_hash": password_hash, "markov_user_id": f"gotong_royong:{user_id}",
            "bio": None, "location": None, "avatar_url": None,
            "created_at": created, "updated_at": created,
        })
    viewer_id = users[0]["id"]
    people = [user["id"] for user in users[1:]]
    creators = people[: max(1, len(people) // 5)]

    skills = [
        {"id": uuid.UUID(int=rng.getrandbits(128), version=4), "name": name, "category": None,
         "description": None, "created_at": now - timedelta(days=90)}
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
        tasks.append({
            "id": task_id, "creator_id": rng.choice(creators),
            "assignee_id": rng.choice(people) if assigned else None,
            "title": f"Task {index:04d}: {rng.choice(SKILL_WORDS)} for the neighbourhood",
            "description": "Bring gloves and water.", "status": status,
            "difficulty": rng.choice((None, "easy", "intermediate", "hard")),
            "location": None, "latitude": None, "longitude": None,
            "estimated_hours": rng.choice((None, 1.0, 2.5, 4.0, 8.0)),
            "metadata": {"source": "bench"},
            "created_at": created, "updated_at": created,
            "completed_at": created + timedelta(hours=3) if status == "completed" else None,
        })
        for skill in rng.sample(skills, rng.randint(1, 3)):
            task_skills.append({"task_id": task_id, "skill_id": skill["id"]})
    rows = {"users": users, "skills": skills, "tasks": tasks, "task_skills": task_skills}
    return rows, viewer_id


async def seed(url: str, n_tasks: int, n_users: int) -> SeedSummary:
    rows, viewer_id = seed_rows(n_tasks, n_users)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for model, table in ((User, "users"), (Skill, "skills"), (Task, "tasks"),
                                 (TaskSkill, "task_skills")):
                await connection.execute(insert(model.__table__), rows[table])
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return SeedSummary(
        users=len(rows["users"]), skills=len(rows["skills"]), tasks=len(rows["tasks"]),
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def venv_script(name: str) -> str:
    script = Path(sys.executable).parent / name
    if not script.exists():
        raise SystemExit(f"{script} not found: run this with the project's .venv/bin/python")
    return str(script)


@contextmanager
def running(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> Iterator[Server]:
    """A server subprocess (its own session, output to a log file), stopped on the way out."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=REPO_DIR, env=env, stdin=subprocess.DEVNULL,
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
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
    raise RuntimeError(f"{server.name} not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n"
                       f"{server.log_tail()}")


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
    if app != floor:
        for index, (a, b) in enumerate(zip(app["data"]["tasks"]["edges"],
                                           floor["data"]["tasks"]["edges"], strict=True)):
            if a != b:
                raise RuntimeError(f"the servers disagree on task {index}:\n{a}\n{b}")
        raise RuntimeError("the servers' answers differ outside the edges")


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
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSample:
    server: float | None
    client: float
    machine: float | None

    @classmethod
    def take(cls, pid: int) -> CpuSample:
        return cls(cpu_seconds(pid), time.process_time(), machine_busy_seconds())


def cores_used(before: CpuSample, after: CpuSample, field: str, seconds: float) -> float | None:
    start, end = getattr(before, field), getattr(after, field)
    return None if start is None or end is None else round((end - start) / seconds, 2)


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
    server_cpu_cores: float | None
    client_cpu_cores: float | None
    machine_cpu_cores: float | None


async def load(
    server: Server, body: bytes, headers: dict[str, str], *, concurrency: int, warmup: float,
    duration: float,
) -> LoadResult:
    """`concurrency` closed-loop clients for warmup + duration seconds; only the second part counts.

    A request counts when it completes inside the measured window; every failure (warm-up
    included) is kept and makes the benchmark fail.
    """
    url = f"{server.base_url}/graphql"
    latencies: list[float] = []
    failures: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    begin = time.perf_counter()
    window_start, window_end = begin + warmup, begin + warmup + duration

    async def client_loop(client: httpx.AsyncClient) -> None:
        while (sent := time.perf_counter()) < window_end:
            try:
                response = await client.post(url, content=body, headers=headers)
                ok = response.status_code == 200 and b'"errors"' not in response.content
                problem = "" if ok else f"HTTP {response.status_code}: {response.text[:500]}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            done = time.perf_counter()
            if problem:
                failures.append(problem)
            elif window_start <= done <= window_end:
                latencies.append(done - sent)

    async def sample_cpu() -> tuple[CpuSample, CpuSample]:
        await asyncio.sleep(window_start - time.perf_counter())
        first = CpuSample.take(server.process.pid)
        await asyncio.sleep(window_end - time.perf_counter())
        return first, CpuSample.take(server.process.pid)

    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
        sampler = asyncio.create_task(sample_cpu())
        await asyncio.wait_for(
            asyncio.gather(*(client_loop(client) for _ in range(concurrency))),
            timeout=warmup + duration + REQUEST_TIMEOUT_S + 5,
        )
        before, after = await sampler
    if failures:
        raise RuntimeError(
            f"{server.name}: {len(failures)} failed requests, first: {failures[0]}"
        )
    if len(latencies) < 2:
        raise RuntimeError(f"{server.name}: only {len(latencies)} requests in the window")
    percentiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(
        server=server.name,
        requests=len(latencies),
        seconds=duration,
        requests_per_second=round(len(latencies) / duration, 1),
        p50_ms=round(percentiles[49] * 1000, 2),
        p95_ms=round(percentiles[94] * 1000, 2),
        p99_ms=round(percentiles[98] * 1000, 2),
        mean_ms=round(statistics.fmean(latencies) * 1000, 2),
        failures=len(failures),
        server_cpu_cores=cores_used(before, after, "server", duration),
        client_cpu_cores=cores_used(before, after, "client", duration),
        machine_cpu_cores=cores_used(before, after, "machine", duration),
    )


# --- the run ----------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace, url: str, log_dir: Path) -> dict[str, Any]:
    log(f"seeding {args.tasks} tasks")
    summary = await seed(url, args.tasks, args.users)
    log(f"seeded {summary}")

    jwt_secret = secrets.token_urlsafe(48)  # 64 characters
    # Long enough for the whole run, whatever --duration says.
    ttl = 900 + 4 * int(args.warmup + args.duration)
    token = TokenCodec(
        Settings(database_url=url, jwt_secret=jwt_secret, access_token_ttl_seconds=ttl)
    ).issue(summary.viewer_id, "access").token
    body = json.dumps({"query": QUERY}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    base_env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    app_env = {**base_env, "JWT_SECRET": jwt_secret, "GOTONG_ENV": "development",
               "VAR_DIR": str(log_dir / "var")}
    with ExitStack() as stack:
        app = stack.enter_context(
            running("gotong-gql", [venv_script("gotong-gql"), "serve"], app_env, log_dir)
        )
        floor = stack.enter_context(
            running("plain-floor", [sys.executable, str(BENCH_DIR / "plain_floor.py")],
                    base_env, log_dir)
        )
        await asyncio.gather(wait_healthy(app), wait_healthy(floor))
        compare_pages(await fetch_page(app, body, headers), await fetch_page(floor, body, headers))
        log(f"both servers answer the same {PAGE_SIZE} tasks")

        results = []
        for server in (app, floor):
            log(f"loading {server.name}: {args.concurrency} clients, "
                f"{args.warmup:g} s warm-up + {args.duration:g} s measured")
            results.append(await load(server, body, headers, concurrency=args.concurrency,
                                      warmup=args.warmup, duration=args.duration))
            log(f"{server.name}: {results[-1].requests_per_second} req/s")

    app_result, floor_result = results
    return {
        "benchmark": "tasks_query",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "config": {"query": QUERY, "tasks": summary.tasks, "users": summary.users,
                   "skills": summary.skills, "task_skills": summary.task_skills,
                   "assigned_tasks": summary.assigned_tasks, "concurrency": args.concurrency,
                   "warmup_s": args.warmup, "duration_s": args.duration},
        "results": {"gotong": asdict(app_result), "floor": asdict(floor_result)},
        "ratio_gotong_over_floor": {
            "requests_per_second": round(
                app_result.requests_per_second / floor_result.requests_per_second, 3
            ),
            "p50": round(app_result.p50_ms / floor_result.p50_ms, 2),
            "p95": round(app_result.p95_ms / floor_result.p95_ms, 2),
        },
    }


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_DIR, capture_output=True, text=True,
            check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def markdown(report: dict[str, Any]) -> str:
    def cores(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    lines = [
        "| server | req/s | p50 ms | p95 ms | server CPU | client CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    labels = {"gotong": "gotong-gql (Strawberry + SQLAlchemy)",
              "floor": "floor (Starlette + asyncpg)"}
    for key, label in labels.items():
        result = report["results"][key]
        lines.append(
            f"| {label} | {result['requests_per_second']:.1f} | {result['p50_ms']:.1f} "
            f"| {result['p95_ms']:.1f} | {cores(result['server_cpu_cores'])} "
            f"| {cores(result['client_cpu_cores'])} |"
        )
    ratio = report["ratio_gotong_over_floor"]
    config = report["config"]
    lines += [
        f"| **ratio gotong / floor** | **{ratio['requests_per_second']:.3f}** "
        f"| {ratio['p50']:.2f} | {ratio['p95']:.2f} | | |",
        "",
        f"{config['concurrency']} clients, {config['warmup_s']:g} s warm-up + "
        f"{config['duration_s']:g} s measured per server, {config['tasks']} tasks seeded, "
        f"{report['machine']['cpus']} CPUs. CPU columns are cores used (1.00 = one core).",
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
    args = parser.parse_args()
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration is 1..600 s and --warmup 0..60 s")
    if not 1 <= args.concurrency <= 500:
        parser.error("--concurrency is 1..500")
    if not PAGE_SIZE <= args.tasks <= 100_000 or not 5 <= args.users <= 100_000:
        parser.error(f"--tasks is {PAGE_SIZE}..100000 and --users 5..100000")
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
        with tempfile.TemporaryDirectory(prefix="gotong-bench-") as log_dir, \
                asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(benchmark(args, url, Path(log_dir)))
    finally:
        asyncio.run(pg_admin(drop))
        log(f"dropped database {args.database}")


def main() -> None:
    args = parse_args()
    report = run(args)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    log(f"wrote {RESULTS_FILE.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()
