"""Paths, the log line and the error that stops a run."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"


class BenchError(RuntimeError):
    """A wrong answer, a process that did not start, a timeout: the run is worthless."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
