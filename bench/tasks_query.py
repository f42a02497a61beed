"""Benchmark: the `tasks(first: 50)` query of gotong-gql against a plain Starlette + asyncpg floor.

    .venv/bin/python bench/tasks_query.py [--duration 15] [--warmup 3] [--concurrency 50]
        [--compare REF]

Creates a fresh PostgreSQL database, migrates and seeds it, serves it with `gotong-gql serve` and
with `bench/plain_floor.py` (each a uvicorn subprocess on a free port), checks that both answer
the same 50 tasks, then loads each server in turn with concurrent keep-alive clients (Python,
in this process) for a fixed time. Prints a markdown table and writes
bench/results/tasks_query.json. See bench/README.md; bench/read_compare.py compares the same
query (and two more) with PostGraphile too, under wrk.

`--compare REF` also serves the `gotong_gql` package of git ref REF (e.g. `main`, a commit) on
the same database and virtualenv, checks that it answers the same, and measures it just before
the working tree's: a before/after of a change in one run. REF must have the same migrations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from typing import Any

from harness.base import BenchError, log
from harness.cpu import QUIET_CORES, BackendCpu
from harness.report import fmt, table
from harness.runner import Run, Scenario, main
from readpath import servers
from readpath.load import LoadResult, load
from readpath.queries import QUERIES, difference
from readpath.seed import check_seed_arguments, seed, seed_arguments
from readpath.servers import Server

TASK_LIST = QUERIES[0]
PAGE_SIZE = 50


async def measure(
    server: Server, body: bytes, postgres: BackendCpu, args: argparse.Namespace
) -> tuple[LoadResult, int]:
    """The load on one server, again (at most --retries times) while others disturb it.

    Returns the run in which other processes used the least CPU, and how many runs were made.
    """
    runs: list[LoadResult] = []
    for attempt in range(1 + args.retries):
        log(
            f"loading {server.label}: {args.concurrency} {args.client} clients, "
            f"{args.warmup:g} s warm-up + {args.duration:g} s measured"
        )
        runs.append(await load(server, body, postgres, args))
        other = runs[-1].cpu_cores["other"]
        log(f"{server.label}: {runs[-1].requests_per_second} req/s")
        if other is None or other <= QUIET_CORES:
            break
        log(
            f"other processes used {other:.2f} cores during the run: "
            + ("once more" if attempt < args.retries else "keeping the quietest run")
        )
    return min(runs, key=lambda run: run.cpu_cores["other"] or 0.0), len(runs)


async def benchmark(run: Run) -> dict[str, Any]:
    args = run.args
    log(f"seeding {args.tasks} tasks")
    seeded = await seed(run.url, args.tasks, args.users)
    log(f"seeded {seeded.counts}")
    # Valid for the whole benchmark, whatever the options say: every run of every server.
    count = 3 if args.compare else 2
    per_run = args.quiet_wait + args.warmup + args.duration + 30
    valid_for = count * args.rounds * (1 + args.retries) * per_run
    app = servers.gotong(run.url, run.work_dir, seeded.viewer_id, valid_for)
    floor = servers.floor(run.url, run.work_dir)
    compared: dict[str, Server] = {}
    commit = None
    if args.compare:
        commit = servers.export_ref(args.compare, run.work_dir / "ref")
        source = (args.compare, run.work_dir / "ref")
        compared["compare"] = servers.gotong(
            run.url, run.work_dir, seeded.viewer_id, valid_for, source
        )
    named = {**compared, "gotong": app, "floor": floor}
    await asyncio.gather(*(asyncio.to_thread(servers.start, s) for s in named.values()))
    request = TASK_LIST.body("gotong", seeded)
    answers = {key: (await asyncio.to_thread(s.ask, request))["data"] for key, s in named.items()}
    if len(answers["gotong"]["tasks"]["edges"]) != PAGE_SIZE:
        raise BenchError(f"gotong-gql answered {len(answers['gotong']['tasks']['edges'])} tasks")
    # The endpoint also reports `extensions.cost`; the data must be the same, byte for byte.
    for key, answer in answers.items():
        found = difference(answers["gotong"], answer)
        if found:
            raise BenchError(f"{named[key].label} disagrees with gotong-gql at {found}")
    log(f"the {len(named)} servers answer the same {PAGE_SIZE} tasks")
    body = json.dumps(request).encode()
    rounds: dict[str, list[tuple[LoadResult, int]]] = {key: [] for key in named}
    with BackendCpu(run.database) as postgres:
        for number in range(args.rounds):
            if args.rounds > 1:
                log(f"round {number + 1} of {args.rounds}")
            for key, server in named.items():
                rounds[key].append(await measure(server, body, postgres, args))
    measured = {key: median_run(runs) for key, runs in rounds.items()}
    app_result, floor_result = measured["gotong"][0], measured["floor"][0]
    extra: dict[str, Any] = {}
    if "compare" in measured:
        before = measured["compare"][0]
        extra = {
            "compare": {"ref": args.compare, "commit": commit, "label": named["compare"].label},
            "ratio_gotong_over_compare": {
                "requests_per_second": round(
                    app_result.requests_per_second / before.requests_per_second, 3
                ),
                "p50": round(app_result.p50_ms / before.p50_ms, 2),
                "p95": round(app_result.p95_ms / before.p95_ms, 2),
                "cpu_ms_per_request": round(
                    cpu_per_request(app_result) / cpu_per_request(before), 3
                ),
            },
        }
    return {
        "config": {
            "query": TASK_LIST.gotong,
            "tasks": seeded.counts["tasks"],
            "users": seeded.counts["users"],
            "skills": seeded.counts["skills"],
            "task_skills": seeded.counts["task_skills"],
            "assigned_tasks": seeded.assigned_tasks,
            "gotong_rate_limits": "disabled (RATE_LIMIT_ENABLED=false)",
            "client": args.client,
            "concurrency": args.concurrency,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "rounds": args.rounds,
        },
        "results": {key: asdict(result) for key, (result, _) in measured.items()},
        "runs": {key: runs for key, (_, runs) in measured.items()},
        "ratio_gotong_over_floor": {
            "requests_per_second": round(
                app_result.requests_per_second / floor_result.requests_per_second, 3
            ),
            "p50": round(app_result.p50_ms / floor_result.p50_ms, 2),
            "p95": round(app_result.p95_ms / floor_result.p95_ms, 2),
        },
        **extra,
    }


def median_run(runs: list[tuple[LoadResult, int]]) -> tuple[LoadResult, int]:
    """The round whose req/s is the median (the lower one of an even count), and how many
    runs all the rounds made."""
    ordered = sorted(runs, key=lambda run: run[0].requests_per_second)
    return ordered[(len(ordered) - 1) // 2][0], sum(made for _, made in runs)


def cpu_per_request(result: LoadResult) -> float:
    """The server process's CPU milliseconds per request (its PostgreSQL backends' apart)."""
    cores = result.cpu_cores.get("server")
    if cores is None or not result.requests_per_second:
        return float("nan")
    return 1000 * cores / result.requests_per_second


def markdown(report: dict[str, Any]) -> str:
    labels = {
        "gotong": "gotong-gql (Strawberry + SQLAlchemy)",
        "floor": "floor (Starlette + asyncpg)",
    }
    if "compare" in report:
        labels = {"compare": report["compare"]["label"], **labels}
    rows = []
    for key, label in labels.items():
        result = report["results"][key]
        cpu = [fmt(result["cpu_cores"][part], ".2f") for part in ("server", "postgres", "client")]
        speed = [f"{result[name]:.1f}" for name in ("requests_per_second", "p50_ms", "p95_ms")]
        rows.append([label, *speed, *cpu, fmt(result["cpu_cores"]["other"], ".2f")])
    ratio, config = report["ratio_gotong_over_floor"], report["config"]
    speed = [
        f"**{ratio['requests_per_second']:.3f}**",
        f"{ratio['p50']:.2f}",
        f"{ratio['p95']:.2f}",
    ]
    rows.append(["**gotong / floor**", *speed, "", "", "", ""])
    if "compare" in report:
        against = report["ratio_gotong_over_compare"]
        speed = [
            f"**{against['requests_per_second']:.3f}**",
            f"{against['p50']:.2f}",
            f"{against['p95']:.2f}",
        ]
        cpu = f"{against['cpu_ms_per_request']:.3f}"
        rows.append([f"**gotong / {report['compare']['ref']}**", *speed, cpu, "", "", ""])
    header = ["server", "req/s", "p50 ms", "p95 ms", "server CPU", "PostgreSQL CPU"]
    header += ["client CPU", "other CPU"]
    background = ", ".join(
        f"{key} {fmt(report['results'][key]['background_cpu_cores'], '.2f')}" for key in labels
    )
    runs = ", ".join(f"{key} {report['runs'][key]}" for key in labels)
    return "\n".join(
        [
            *table(header, rows),
            "",
            f"{config['concurrency']} {config['client']} clients, {config['warmup_s']:g} s warm-up"
            f" + {config['duration_s']:g} s measured per server, {config['tasks']} tasks,"
            f" {report['machine']['cpus']} CPUs; gotong-gql with rate limits disabled. CPU"
            " columns: cores busy in the measured window (other = the rest of the machine)."
            f" Other processes' load just before each run: {background}. Runs made (the"
            f" quietest kept): {runs}.",
        ]
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent clients")
    seed_arguments(parser)
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load client: a minimal HTTP/1.1 one (default) or httpx",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="rounds of loading every server in turn; each server's median round is reported",
    )
    parser.add_argument(
        "--compare",
        metavar="REF",
        help="also measure the gotong_gql package of this git ref (before/after); the ratio "
        "row's server CPU column is the ratio of CPU per request",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="runs repeated at most when other processes used the CPU meanwhile",
    )


def check(args: argparse.Namespace) -> str | None:
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        return "--duration is 1..600 s and --warmup 0..60 s"
    if not 1 <= args.concurrency <= 500:
        return "--concurrency is 1..500"
    if not 0 <= args.retries <= 5:
        return "--retries is 0..5"
    if not 1 <= args.rounds <= 9:
        return "--rounds is 1..9"
    return check_seed_arguments(args)


if __name__ == "__main__":
    main(
        Scenario(
            name="tasks_query",
            doc=__doc__,
            run=benchmark,
            markdown=markdown,
            database="gotong_bench",
            add_arguments=add_arguments,
            check=check,
            timeout=3600.0,
            uvloop=True,
        )
    )
