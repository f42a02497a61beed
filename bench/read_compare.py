"""Benchmark: three read queries on gotong-gql, PostGraphile v5 and the plain floor, side by side.

    .venv/bin/python bench/read_compare.py [--rounds 3] [--duration 10] [--connections 50]

Creates a fresh PostgreSQL database, migrates and seeds it (bench/readpath/seed.py), starts the
three servers on it (bench/readpath/servers.py), checks that they give the same answers to each
query (bench/readpath/queries.py), then loads them with wrk in alternating rounds (gotong,
PostGraphile, floor, gotong, ...), so that whatever else the machine does hits all three alike.
Prints a markdown table and writes bench/results/read_compare.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict
from typing import Any

from harness.base import BenchError, log
from harness.cpu import BackendCpu, CpuWindow, wait_for_quiet, wait_until_idle
from harness.report import fmt, table
from harness.runner import Run, Scenario, main
from harness.stats import median
from readpath import servers, wrk
from readpath.queries import QUERIES, ReadQuery, difference
from readpath.seed import Seeded, check_seed_arguments, seed, seed_arguments
from readpath.servers import Server

ORDER = ("gotong", "postgraphile", "floor")  # the order within each round
SETTLE_S = 120.0  # at most, for a server to finish what a load left in flight


def check_answers(running: dict[str, Server], queries: list[ReadQuery], seeded: Seeded) -> dict:
    """Each query once per server: the same items in the same order, the expected sizes."""
    sizes = {}
    for query in queries:
        answers = {
            key: query.canonical(server.ask(query.body(key, seeded))["data"])
            for key, server in running.items()
        }
        reference = answers["gotong"]
        expected = query.sizes(seeded)
        for name, count in expected.items():
            if len(reference[name]) != count:
                raise BenchError(f"{query.name}: {len(reference[name])} {name}, not {count}")
        for key, answer in answers.items():
            found = difference(reference, answer)
            if found:
                raise BenchError(f"{query.name}: gotong-gql and {key} differ at {found}")
        sizes[query.name] = {
            name: len(value) for name, value in reference.items() if isinstance(value, list)
        }
        log(f"{query.name}: the three servers give the same answer {sizes[query.name]}")
    return sizes


def settle(server: Server) -> None:
    """Waits until the server has finished the requests wrk left in flight when it stopped, so
    that their work neither slows down nor counts in the next run (another server's, maybe)."""
    waited = wait_until_idle(server.process.pid, at_least=0.1, window=0.3, max_wait=SETTLE_S)
    if waited >= SETTLE_S:
        raise BenchError(f"{server.label} is still busy {SETTLE_S:g} s after the load")


def measure(
    server: Server, query: ReadQuery, seeded: Seeded, postgres: BackendCpu, run: Run
) -> dict[str, Any]:
    """One wrk run on one server (after its warm-up), with the CPU it and its backends used."""
    args = run.args
    background = wait_for_quiet(args.quiet_wait)
    body = query.body(server.key, seeded)
    options = {"connections": args.connections, "threads": args.threads, "work_dir": run.work_dir}
    if args.warmup:
        wrk.run(server.url, body, server.headers, seconds=args.warmup, warmup=True, **options)
        settle(server)
    window = CpuWindow({"server": server.process.pid}, postgres)
    load = wrk.run(server.url, body, server.headers, seconds=args.duration, **options)
    used = window.seconds()
    settle(server)
    used["client"] = load.client_cpu_s  # wrk, reaped: it was in `other` until now
    used["other"] = None if used["other"] is None else used["other"] - load.client_cpu_s
    elapsed = used.pop("elapsed") or 1e-9
    serving = (used["server"] or 0.0) + (used["postgres"] or 0.0)
    return {
        **asdict(load),
        "background_cpu_cores": background,
        "cpu_seconds": {
            name: None if value is None else round(value, 3) for name, value in used.items()
        },
        "cpu_cores": {
            name: None if value is None else round(value / elapsed, 2)
            for name, value in used.items()
        },
        "requests_per_cpu_second": round(load.requests / serving, 1) if serving else None,
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds; requests per CPU-second over all of them."""
    cpu = sum(
        (r["cpu_seconds"]["server"] or 0.0) + (r["cpu_seconds"]["postgres"] or 0.0) for r in runs
    )
    return {
        "rounds": len(runs),
        "requests_per_second": median([r["requests_per_second"] for r in runs]),
        "p50_ms": median([r["p50_ms"] for r in runs]),
        "p95_ms": median([r["p95_ms"] for r in runs]),
        "requests_per_cpu_second": round(sum(r["requests"] for r in runs) / cpu, 1)
        if cpu
        else None,
        "cpu_cores": {
            name: median([r["cpu_cores"][name] for r in runs if r["cpu_cores"][name] is not None])
            for name in ("server", "postgres", "client", "other")
        },
        "background_cpu_cores": median(
            [r["background_cpu_cores"] for r in runs if r["background_cpu_cores"] is not None]
        ),
    }


def ratios(summary: dict[str, dict[str, Any]], versus: str) -> dict[str, float | None]:
    ours, theirs = summary["gotong"], summary[versus]
    return {
        name: round(ours[name] / theirs[name], 3) if ours[name] and theirs[name] else None
        for name in ("requests_per_second", "requests_per_cpu_second", "p95_ms")
    }


def benchmark(run: Run) -> dict[str, Any]:
    args = run.args
    wrk.executable()  # before the set-up: missing, it would fail after it
    log(f"seeding {args.tasks} tasks and what surrounds them")
    seeded = asyncio.run(seed(run.url, args.tasks, args.users))
    log(f"seeded {seeded.counts}")
    queries = [query for query in QUERIES if query.name in args.queries]
    per_run = args.quiet_wait + args.warmup + args.duration + 30
    valid_for = per_run * args.rounds * len(queries) * len(ORDER) + 600
    running = {
        "gotong": servers.gotong(run.url, run.work_dir, seeded.viewer_id, valid_for),
        "postgraphile": servers.postgraphile(run.database, run.work_dir),
        "floor": servers.floor(run.url, run.work_dir),
    }
    for server in running.values():
        servers.start(server)
    sizes = check_answers(running, queries, seeded)
    runs: list[dict[str, Any]] = []
    with BackendCpu(run.database) as postgres:
        for query in queries:
            for number in range(1, args.rounds + 1):
                for key in ORDER:
                    result = measure(running[key], query, seeded, postgres, run)
                    runs.append({"query": query.name, "server": key, "round": number, **result})
                    log(
                        f"{query.name} round {number} {key}: {result['requests_per_second']}"
                        f" req/s, p95 {result['p95_ms']} ms"
                    )
                    for server in running.values():
                        server.process.check_alive()
        backends = postgres.backends_seen()
    summary: dict[str, Any] = {}
    for query in queries:
        mine = {
            key: [r for r in runs if r["query"] == query.name and r["server"] == key]
            for key in ORDER
        }
        by_server = {key: summarize(found) for key, found in mine.items()}
        summary[query.name] = {
            "title": query.title,
            "servers": by_server,
            "gotong_over_postgraphile": ratios(by_server, "postgraphile"),
            "gotong_over_floor": ratios(by_server, "floor"),
        }
    return {
        "config": {
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "connections": args.connections,
            "wrk_threads": args.threads,
            "order": ORDER,
            "seeded": seeded.counts,
            "answer_sizes": sizes,
            "gotong_rate_limits": "disabled (RATE_LIMIT_ENABLED=false)",
            "postgresql_backends_seen": backends,
            "queries": {
                query.name: {"gotong": query.gotong, "postgraphile": query.postgraphile}
                for query in queries
            },
        },
        "summary": summary,
        "runs": runs,
    }


def markdown(report: dict[str, Any]) -> str:
    rows = []
    for name, found in report["summary"].items():
        for key in ORDER:
            result = found["servers"][key]
            cores = result["cpu_cores"]
            rows.append(
                [
                    name if key == "gotong" else "",
                    servers.LABELS[key],
                    fmt(result["requests_per_second"], ".1f"),
                    fmt(result["p50_ms"], ".1f"),
                    fmt(result["p95_ms"], ".1f"),
                    fmt(result["requests_per_cpu_second"], ".0f"),
                    *(
                        fmt(cores[part], ".2f")
                        for part in ("server", "postgres", "client", "other")
                    ),
                ]
            )
        for versus, label in (("postgraphile", "PostGraphile"), ("floor", "floor")):
            ratio = found[f"gotong_over_{versus}"]
            speed = f"**{fmt(ratio['requests_per_second'], '.2f')}**"
            p95, per_cpu = fmt(ratio["p95_ms"], ".2f"), fmt(ratio["requests_per_cpu_second"], ".2f")
            rows.append(["", f"**gotong / {label}**", speed, "", p95, per_cpu, "", "", "", ""])
    header = ["query", "server", "req/s", "p50 ms", "p95 ms", "req / CPU-s", "server CPU"]
    header += ["PostgreSQL CPU", "wrk CPU", "other CPU"]
    config = report["config"]
    lines = table(header, rows, left=2)
    lines += [
        "",
        f"wrk, {config['connections']} keep-alive connections, {config['rounds']} alternating"
        f" rounds of {config['warmup_s']:g} s warm-up + {config['duration_s']:g} s measured per"
        " server; req/s, p50 and p95 are the medians of the rounds. req / CPU-s: requests per"
        " CPU-second of the server process and its PostgreSQL backends. CPU columns: cores busy"
        " (other: the rest of the machine; above 0.3 it was shared). gotong-gql runs with rate"
        f" limits disabled (RATE_LIMIT_ENABLED=false). {report['machine']['cpus']} CPUs.",
        "",
        "Targets (issue 13), for each query: gotong / PostGraphile req/s >= 1.0 (first milestone"
        " 0.5), gotong-gql's p95 < 100 ms, gotong / floor req/s >= 0.5.",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per query")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=50, help="wrk keep-alive connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    seed_arguments(parser)
    parser.add_argument(
        "--queries",
        default=",".join(query.name for query in QUERIES),
        help="comma-separated, of " + ", ".join(query.name for query in QUERIES),
    )


def check(args: argparse.Namespace) -> str | None:
    args.queries = [name.strip() for name in args.queries.split(",") if name.strip()]
    if not args.queries or set(args.queries) - {query.name for query in QUERIES}:
        return "--queries: " + ", ".join(query.name for query in QUERIES)
    if not 1 <= args.rounds <= 20 or not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 60:
        return "--rounds is 1..20, --duration 1..600 s and --warmup 0..60 s"
    if not 1 <= args.threads <= args.connections <= 1000:
        return "--connections is 1..1000 and --threads 1..connections"
    return check_seed_arguments(args)


if __name__ == "__main__":
    main(
        Scenario(
            name="read_compare",
            doc=__doc__,
            run=benchmark,
            markdown=markdown,
            database="gotong_bench_reads",
            add_arguments=add_arguments,
            check=check,
            timeout=3600.0,
            quiet_wait=10.0,
        )
    )
