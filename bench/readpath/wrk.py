"""The load: wrk (a C load generator, Debian's `wrk`), keep-alive connections in a closed loop.

A Lua script sets the POST request (body from a file, headers from the arguments), checks every
answer (HTTP 200 and no `"errors"` in the body, or it counts as bad) and prints, from `done()`,
one JSON line with the counts and the latency percentiles of the requests that completed.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.base import BenchError
from harness.stats import Throughput

SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  for i = 2, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
  bad = 0
  first_bad = ""
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then
    bad = bad + 1
    if first_bad == "" then
      first_bad = status .. " " .. body:sub(1, 300)
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("bad")
    if first == "" then first = thread:get("first_bad") end
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "bad_answers": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, ' ..
    '"timeouts": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, bad, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
  io.write("WRK_FIRST_BAD " .. first:gsub("\n", " ") .. "\n")
end
"""


def executable() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise BenchError("wrk not found: apt-get install -y wrk (as root; make bench does it)")
    return found


@dataclass
class Load(Throughput):
    """One wrk run: its counts, latencies in ms and the CPU seconds wrk itself used."""

    max_ms: float
    errors: dict[str, int]
    client_cpu_s: float


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int,
    threads: int,
    work_dir: Path,
    warmup: bool = False,
) -> Load:
    """`connections` keep-alive connections for `seconds`; BenchError on any failed request or
    bad answer (a fast error page is not a result), or if none completed (a warm-up may end
    before the first answer of a slow server)."""
    script, body_file = work_dir / "wrk.lua", work_dir / "wrk-body.json"
    script.write_text(SCRIPT)
    body_file.write_text(json.dumps(body))
    command = [
        executable(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=30s",  # wrk's default, 2 s, would count a slow server's answers as errors
        f"--script={script}",
        url,
        "--",
        str(body_file),
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    before = children_cpu_s()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    client = children_cpu_s() - before
    lines = done.stdout.splitlines()
    result = next((line for line in lines if line.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or result is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    counts = json.loads(result.removeprefix("WRK_RESULT "))
    first_bad = next(line for line in lines if line.startswith("WRK_FIRST_BAD"))[14:]
    errors = {
        name: counts[name]
        for name in (
            "bad_answers",
            "connect_errors",
            "read_errors",
            "write_errors",
            "status_errors",
            "timeouts",
        )
    }
    if any(errors.values()) or counts["requests"] < (0 if warmup else 1):
        raise BenchError(f"{url}: {errors} in {counts['requests']} requests; first: {first_bad}")
    duration = counts["duration_us"] / 1e6
    return Load(
        requests=counts["requests"],
        seconds=round(duration, 3),
        requests_per_second=round(counts["requests"] / max(duration, 1e-9), 1),
        p50_ms=round(counts["p50_us"] / 1000, 2),
        p95_ms=round(counts["p95_us"] / 1000, 2),
        p99_ms=round(counts["p99_us"] / 1000, 2),
        mean_ms=round(counts["mean_us"] / 1000, 2),
        max_ms=round(counts["max_us"] / 1000, 2),
        errors=errors,
        client_cpu_s=round(client, 3),
    )
