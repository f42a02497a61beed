"""Memory of a process from Linux's /proc: its resident set now, at its peak, sampled."""

from __future__ import annotations

import threading
from pathlib import Path

from harness.base import BenchError


def proc_status_kb(pid: int, key: str) -> int | None:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM), or None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def vm_rss_kb(pid: int) -> int:
    """The process's resident memory; BenchError if it is gone."""
    value = proc_status_kb(pid, "VmRSS")
    if value is None:
        raise BenchError(f"no VmRSS for pid {pid}: the process is gone")
    return value


class RssSampler(threading.Thread):
    """Reads a process's VmRSS every `interval` s and keeps the highest."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.max_kb = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            value = proc_status_kb(self.pid, "VmRSS")
            if value is not None:
                self.max_kb = max(self.max_kb, value)
                self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def reset_peak_rss(pid: int) -> bool:
    """Writes 5 to /proc/<pid>/clear_refs, which sets VmHWM to the current VmRSS (Linux >= 4.0).

    Without it the worker's VmHWM is its start-up peak (imports, set-up), some 25 MB above the
    RSS it then runs at, and a job would have to exceed that before VmHWM moved at all."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
