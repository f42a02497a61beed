"""What a results file records besides the numbers, and the markdown they are printed as."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.base import REPO_DIR, RESULTS_DIR, log


def git_state() -> dict[str, Any]:
    """The commit measured, and whether tracked files outside bench/ differed from it (the
    benchmark measures the working tree)."""

    def git(*command: str) -> str:
        return subprocess.run(
            ["git", *command], cwd=REPO_DIR, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(
                git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench")
            ),
        }
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_end": [round(value, 2) for value in os.getloadavg()],
    }


def fmt(number: Any, spec: str = "g") -> str:
    """A number for a table: `n/a` when unknown."""
    return "n/a" if number is None else format(number, spec)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> list[str]:
    """Markdown table lines; the first `left` columns are left-aligned, the rest right-aligned."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if index < left else "---:" for index in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def write_results(name: str, report: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    log(f"wrote {path.relative_to(REPO_DIR)}")
    return path
