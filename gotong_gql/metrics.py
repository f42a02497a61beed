"""Every Prometheus metric of gotong-gql, in one place (`/metrics`; the worker on its own port).

Webhook delivery metrics live beside the delivery code (webhook/metrics.py) and are re-exported
here, so that this module names every metric the alert rules may use.
"""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from gotong_gql.webhook.metrics import (
    COMMIT_TO_DELIVERY_SECONDS,
    DEAD_LETTERS,
    DELIVERIES,
    DELIVERY_SECONDS,
)

# Operation names are the clients' choice: each name a process sees is a series (and a histogram
# of buckets) for as long as it runs, and anyone may send names. The first ones to run get their
# own series; later names, and any that is not a plain GraphQL name, are counted as `other`.
MAX_OPERATION_LABELS = 100
OTHER = "other"
ANONYMOUS = "anonymous"
_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")


class LabelBound:
    """At most `cap` distinct values of a label in this process; beyond them, `other`."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._known = {ANONYMOUS, OTHER}

    def __call__(self, value: str, *, admit: bool = True) -> str:
        """`value` if known or admitted now (a new value is admitted only with `admit`)."""
        if value in self._known:
            return value
        if admit and len(self._known) - 2 < self.cap and _OPERATION_NAME.match(value):
            self._known.add(value)
            return value
        return OTHER


OPERATION_LABELS = LabelBound(MAX_OPERATION_LABELS)

REQUESTS = Counter(
    "gotong_graphql_requests_total",
    "GraphQL requests by operation name (the first 100 of a process, then other; anonymous)"
    " and outcome (ok, error).",
    ["operation", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "gotong_graphql_request_duration_seconds",
    "GraphQL request latency by operation name (bounded as for requests).",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5),
)
GRAPHQL_ERRORS = Counter(
    "gotong_graphql_errors_total", "GraphQL errors (top level and payload) by code.", ["code"]
)
DB_POOL_CONNECTIONS = Gauge(
    "gotong_db_pool_connections",
    "Database pool connections by state (in_use, idle, capacity).",
    ["state"],
)
READ_PATH = Counter(
    "gotong_graphql_read_path_total",
    "Query operations by the path that answered them: compiled (one SQL statement) or executor, "
    "with the fallback reason.",
    ["path", "reason"],
)
CACHE_LOOKUPS = Counter(
    "gotong_cache_lookups_total", "Reputation cache lookups by result (hit, miss).", ["result"]
)
EVIDENCE_PROCESSING_SECONDS = Histogram(
    "gotong_evidence_processing_seconds",
    "Time to read and hash one uploaded evidence file (the verdict's transaction excluded).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
EVIDENCE_OUTCOMES = Counter(
    "gotong_evidence_processed_total", "Processed evidence files by outcome.", ["outcome"]
)
SUBSCRIPTIONS_OPEN = Gauge("gotong_subscriptions_open", "Open GraphQL subscriptions.")
OUTBOX_PENDING = Gauge(
    "gotong_webhook_outbox_events", "Outbox events by status (sampled by the sweeper).", ["status"]
)


def exposition(engine: Any | None = None) -> bytes:
    """The text format for a scrape; the pool gauges are read at that moment."""
    if engine is not None:
        pool = engine.sync_engine.pool
        in_use = getattr(pool, "checkedout", lambda: 0)()
        DB_POOL_CONNECTIONS.labels("in_use").set(in_use)
        DB_POOL_CONNECTIONS.labels("idle").set(getattr(pool, "checkedin", lambda: 0)())
        capacity = getattr(pool, "size", lambda: 0)() + max(getattr(pool, "_max_overflow", 0), 0)
        DB_POOL_CONNECTIONS.labels("capacity").set(capacity)
    return generate_latest()


__all__ = [
    "CACHE_LOOKUPS",
    "COMMIT_TO_DELIVERY_SECONDS",
    "CONTENT_TYPE_LATEST",
    "DB_POOL_CONNECTIONS",
    "DEAD_LETTERS",
    "DELIVERIES",
    "DELIVERY_SECONDS",
    "EVIDENCE_OUTCOMES",
    "EVIDENCE_PROCESSING_SECONDS",
    "GRAPHQL_ERRORS",
    "MAX_OPERATION_LABELS",
    "OPERATION_LABELS",
    "OUTBOX_PENDING",
    "REQUESTS",
    "REQUEST_SECONDS",
    "SUBSCRIPTIONS_OPEN",
    "exposition",
]


# Multiplexed subscriptions (graphql/multiplex/).
SUBSCRIPTION_GROUPS = Gauge(
    "gotong_subscription_groups",
    "Groups of multiplexed subscriptions (one operation, variables and feed; one pub/sub"
    " subscription each).",
)
SUBSCRIPTION_MEMBERS = Gauge(
    "gotong_subscription_group_members", "Multiplexed subscriptions (members of the groups)."
)
SUBSCRIPTION_EVENTS = Counter(
    "gotong_subscription_events_total", "Events handled by the groups (one per group and message)."
)
SUBSCRIPTION_READS = Counter(
    "gotong_subscription_reads_total",
    "Reads of a group's event: once per visibility class (class) and once per member the class"
    " read singled out (own), or once for every member by a compiled plan (compiled).",
    ["viewer"],
)
SUBSCRIPTION_SENT_BYTES = Counter(
    "gotong_subscription_sent_bytes_total",
    "Bytes of WebSocket messages written on graphql-transport-ws connections.",
)
SUBSCRIPTION_SLOW_CONSUMER_CLOSES = Counter(
    "gotong_subscription_slow_consumer_closes_total",
    "WebSocket connections closed with 1013 because their send queue was full.",
)
SUBSCRIPTION_FANOUT_SECONDS = Histogram(
    "gotong_subscription_fanout_seconds",
    "From a group taking an event off its queue to its payload queued for every member.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
__all__ += [
    "SUBSCRIPTION_EVENTS",
    "SUBSCRIPTION_FANOUT_SECONDS",
    "SUBSCRIPTION_GROUPS",
    "SUBSCRIPTION_MEMBERS",
    "SUBSCRIPTION_READS",
    "SUBSCRIPTION_SENT_BYTES",
    "SUBSCRIPTION_SLOW_CONSUMER_CLOSES",
]
