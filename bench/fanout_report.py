"""The markdown table of bench/subscriptions_fanout.py."""

from __future__ import annotations

from typing import Any

from harness.report import fmt, table


def markdown(report: dict[str, Any]) -> str:
    rows = []
    for run in report["scenarios"]:
        first, last = run["response_to_first_ms"], run["response_to_last_ms"]
        cpu = run["cpu_seconds_per_event"]
        memory = run["memory_kb"]
        after = memory.get("per_subscription_after_soak")
        rows.append(
            [
                run["pubsub"] + ("" if run.get("multiplexing", True) else ", not multiplexed"),
                f"{run['subscriptions']} ({run['connections']})",
                fmt(memory["per_subscription"]) + ("" if after is None else f" / {fmt(after)}"),
                f"{fmt(first['p50'])} / {fmt(first['p95'])}",
                f"{fmt(last['p50'])} / {fmt(last['p95'])}",
                fmt(run["mutation_ms"]["p50"]),
                " / ".join(fmt(cpu[part]) for part in ("server", "postgres", "bench")),
                fmt(run["cpu_cores_measured"]["other"]),
                f"{fmt(run['database_transactions_per_event'])}"
                f" / {fmt(run['database_connections_opened_per_event'])}",
            ]
        )
    soaked = report["config"].get("soak")
    kb = "KB / idle subscription" + (f" (before / after {soaked:,} more events)" if soaked else "")
    header = ["pub/sub", "subscriptions (connections)", kb]
    header += ["response -> first p50 / p95 ms", "response -> last p50 / p95 ms"]
    header += ["mutation p50 ms", "CPU s / event: server / PostgreSQL / client"]
    header += ["other processes, cores", "DB transactions / connections per event"]
    config = report["config"]
    return "\n".join(
        [
            *table(header, rows),
            "",
            f"One `gotong-gql serve` process on {report['machine']['cpus']} CPUs;"
            f" {config['events']} `taskUpdate` events (after {config['warmup']} warm-up ones),"
            " each received by every subscriber exactly once, in order. Response -> first / last:"
            " from the mutation's HTTP response (after its commit) to the first / last"
            " subscriber's `next` message. KB / idle subscription: the server's VmRSS with every"
            " subscription idle minus before the WebSocket connections, divided by the"
            " subscriptions. **The times include the benchmark's client, on the same machine as"
            " the server and PostgreSQL** (one asyncio loop reads every WebSocket). Other"
            " processes: cores used by the rest of the machine during the events; above 0.3 the"
            " numbers are not to be trusted.",
        ]
    )
