"""CPU windows from Linux's /proc: the processes a scenario names, the PostgreSQL backends of its
database, the benchmark's own process, and everything else on the machine.

Elsewhere than Linux the values are None and reports show `n/a`.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from harness.base import log
from harness.database import PG_ADMIN_DSN

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
QUIET_CORES = 0.3  # other processes' CPU use above which the machine is not quiet


def cpu_seconds(pid: int | None, name: str | None = None) -> float | None:
    """User + system CPU time of a process, or None (gone, not Linux, or not called `name`)."""
    if pid is None:
        return None
    try:
        command, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
    except OSError:
        return None
    if name is not None and command.partition("(")[2] != name:
        return None
    fields = rest.split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float | None:
    """CPU seconds spent not idle, summed over every core, since boot (/proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = values[:7]  # not steal, not guests
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def process_cpu_table() -> dict[int, tuple[str, float]]:
    """Every process's name and CPU seconds, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            seconds = cpu_seconds(int(entry.name))
            if seconds is not None:
                found[int(entry.name)] = (stat[stat.index("(") + 1 : stat.rindex(")")], seconds)
    return found


def busiest(
    before: dict[int, tuple[str, float]], skip: set[int], count: int = 5
) -> list[dict[str, Any]]:
    """The processes that used the most CPU since `before` (those alive at both ends)."""
    after = process_cpu_table()
    used = [
        (after[pid][1] - before[pid][1], pid, after[pid][0])
        for pid in after.keys() & before.keys()
        if pid not in skip and after[pid][0] == before[pid][0]
    ]
    return [
        {"pid": pid, "name": name, "cpu_seconds": round(seconds, 2)}
        for seconds, pid, name in sorted(used, reverse=True)[:count]
        if seconds > 0
    ]


class BackendCpu:
    """The CPU time of the PostgreSQL backends serving one database.

    A thread asks pg_stat_activity for them every `interval` s and reads each one's CPU time from
    /proc every `tick` s. A backend that exits (a pool closing an overflow connection) keeps the
    last value read, so its work counts up to at most `tick` s before its end; one born and gone
    between two questions is missed. Backends are told apart by (pid, backend_start), so a reused
    pid is a new backend. Other databases' backends (other test runs on a shared server) never
    count.
    """

    def __init__(self, database: str, interval: float = 0.2, tick: float = 0.05) -> None:
        self.database, self.interval, self.tick = database, interval, tick
        self._seen: dict[tuple[int, datetime], float] = {}
        self._live: set[tuple[int, datetime]] = set()
        self._lock = threading.Lock()
        self._ready, self._halt = threading.Event(), threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="backend-cpu", daemon=True)

    def __enter__(self) -> BackendCpu:
        self._thread.start()
        if not self._ready.wait(15):
            raise TimeoutError("pg_stat_activity did not answer in 15 s")
        self._raise()
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt.set()
        self._thread.join(5)

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"sampling pg_stat_activity failed: {self._error!r}")

    def _run(self) -> None:
        try:
            asyncio.run(self._sample_until_halted())
        except BaseException as exc:  # reported to the next reader
            self._error = exc
            self._ready.set()

    async def _sample_until_halted(self) -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
        try:
            while not self._halt.is_set():
                rows = await connection.fetch(
                    "SELECT pid, backend_start FROM pg_stat_activity"
                    " WHERE datname = $1 AND backend_type = 'client backend'",
                    self.database,
                )
                asked = time.monotonic()
                with self._lock:
                    self._live = {(row["pid"], row["backend_start"]) for row in rows}
                    self._refresh()
                self._ready.set()
                while time.monotonic() - asked < self.interval and not self._halt.is_set():
                    await asyncio.sleep(self.tick)
                    with self._lock:
                        self._refresh()
        finally:
            await connection.close()

    def _refresh(self) -> None:
        for key in self._live:
            seconds = cpu_seconds(key[0], "postgres")  # not a process that took a freed pid
            if seconds is not None:
                self._seen[key] = max(seconds, self._seen.get(key, 0.0))

    def seconds(self) -> float | None:
        """CPU seconds of every backend seen so far (the live ones read now); differences of two
        readings are the backends' work in between."""
        self._raise()
        if cpu_seconds(os.getpid()) is None:
            return None
        with self._lock:
            self._refresh()
            return sum(self._seen.values())

    def backends_seen(self) -> int:
        with self._lock:
            return len(self._seen)


class CpuWindow:
    """CPU used from its creation on by the named processes, the database's backends (`postgres`),
    this process (`own`), the whole machine (`machine`) and the rest of it (`other`)."""

    def __init__(
        self, pids: dict[str, int | None], postgres: BackendCpu | None = None, own: str = "bench"
    ) -> None:
        self.pids, self.postgres, self.own = pids, postgres, own
        self.started = time.monotonic()
        self.before = self._sample()

    def _sample(self) -> dict[str, float | None]:
        values = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        if self.postgres is not None:
            values["postgres"] = self.postgres.seconds()
        values[self.own] = time.process_time()
        values["machine"] = machine_busy_seconds()
        return values

    def seconds(self) -> dict[str, float | None]:
        """CPU seconds used since the window opened, and `elapsed`: its wall-clock length."""
        after, elapsed = self._sample(), time.monotonic() - self.started
        used: dict[str, float | None] = {}
        for name, end in after.items():
            start = self.before.get(name)
            used[name] = None if start is None or end is None else end - start
        known = [value for name, value in used.items() if name != "machine" and value is not None]
        machine = used["machine"]
        used["other"] = None if machine is None else machine - sum(known)
        used["elapsed"] = elapsed
        return used

    def cores(self) -> dict[str, float | None]:
        """The same as cores busy on average (CPU seconds per second), rounded."""
        used = self.seconds()
        elapsed = used.pop("elapsed") or 1e-9
        return {
            name: None if value is None else round(value / elapsed, 2)
            for name, value in used.items()
        }


def background_cores(seconds: float = 1.0) -> float | None:
    """Cores busy on the machine over `seconds`, minus this process."""
    machine, mine = machine_busy_seconds(), time.process_time()
    time.sleep(seconds)
    after = machine_busy_seconds()
    if machine is None or after is None:
        return None
    return round(max(0.0, (after - machine - (time.process_time() - mine)) / seconds), 2)


def wait_for_quiet(max_wait: float) -> float | None:
    """Waits (at most `max_wait` s) until other processes use under QUIET_CORES; returns the last
    load seen, so that a run on a busy machine says so."""
    deadline = time.monotonic() + max_wait
    while True:
        load = background_cores()
        if load is None or load < QUIET_CORES or time.monotonic() >= deadline:
            if load is not None and load >= QUIET_CORES:
                log(f"the machine is busy: {load:.2f} cores used by other processes")
            return load


def wait_until_idle(
    pid: int, *, at_least: float, window: float = 0.5, max_wait: float = 30.0
) -> float:
    """Waits `at_least` s, then until the process used under 10 ms of CPU over `window` (at most
    `max_wait` s in all); returns the seconds waited."""
    started = time.monotonic()
    time.sleep(at_least)
    while time.monotonic() - started < max_wait:
        before = cpu_seconds(pid) or 0.0
        time.sleep(window)
        if (cpu_seconds(pid) or 0.0) - before < 0.01:
            break
    return time.monotonic() - started
