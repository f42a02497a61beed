"""Percentiles and latency summaries."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summary_ms(values: list[float]) -> dict[str, float | int | None]:
    """count, min, p50, p95, p99, max and mean of durations in ms (None where there are none)."""
    return {
        "count": len(values),
        "min": rounded(min(values) if values else None),
        "p50": rounded(percentile(values, 0.50)),
        "p95": rounded(percentile(values, 0.95)),
        "p99": rounded(percentile(values, 0.99)),
        "max": rounded(max(values) if values else None),
        "mean": rounded(statistics.fmean(values) if values else None),
    }


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class Throughput:
    """The requests a load completed in its measured window, and their latencies."""

    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
