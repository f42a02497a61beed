"""Delivery counters and latency, in one place, for /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "gotong_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, retry, dead_letter).",
    ["event_type", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "gotong_webhook_delivery_seconds",
    "Duration of one delivery attempt (the HTTP exchange).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
COMMIT_TO_DELIVERY_SECONDS = Histogram(
    "gotong_webhook_commit_to_delivery_seconds",
    "Time from the event's commit to its successful delivery.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
DEAD_LETTERS = Counter(
    "gotong_webhook_dead_letters_total", "Events moved to the dead-letter table.", ["event_type"]
)

# Every series exists from the start at 0, so that `increase()` in the alert rules sees the first
# dead letter of each event type.
for _event_type in ("contribution_created", "vouch_submitted", "por_evidence"):
    DEAD_LETTERS.labels(_event_type)
    for _outcome in ("delivered", "retry", "dead_letter"):
        DELIVERIES.labels(_event_type, _outcome)
