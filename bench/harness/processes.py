"""Subprocesses of a run: started on free ports of 127.0.0.1, ready by polling, always stopped.

Every `Process` started is remembered; the runner stops the ones still running at the end of a
run, after an error or Ctrl-C too. Each process runs in its own session (so that a Ctrl-C in the
terminal reaches only the benchmark, which then stops them in order) with its output appended to
a log file, whose tail goes into the error when it fails to start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.base import REPO_DIR, BenchError, log

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
_STARTED: list[Process] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def venv_script(name: str) -> str:
    script = Path(sys.executable).parent / name
    if not script.exists():
        raise SystemExit(f"{script} not found: run this with the project's .venv/bin/python")
    return str(script)


def gotong_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without any gotong-gql setting, plus `settings`: what the
    benchmark sets is all the servers see, whatever the shell exported."""
    from gotong_gql.settings import Settings

    names = {name.upper() for name in Settings.model_fields}
    inherited = {key: value for key, value in os.environ.items() if key.upper() not in names}
    return {**inherited, "PYTHONUNBUFFERED": "1", **settings}


def run_cli(command: list[str], env: dict[str, str], timeout: float = 120.0) -> str:
    """A one-shot command (e.g. `gotong-gql user create`); its output, or BenchError."""
    done = subprocess.run(
        command,
        cwd=REPO_DIR,
        env={**env, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command[:3])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def url_answers(url: str) -> Callable[[], bool]:
    """A readiness probe: GET `url` answers 200."""

    def probe() -> bool:
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(url, timeout=1.0).status_code == 200
        return False

    return probe


@dataclass
class Process:
    """One subprocess and its log file (appended to, so that a restart keeps the history)."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path = REPO_DIR
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = 0
    spawned_at: float = 0.0  # wall clock, to compare with stamps taken by other processes
    ready_at: float = 0.0

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} was never started")
        return self.process.pid

    def output(self) -> str:
        """What the process wrote since its last start."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(self.log_offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise BenchError(f"{self.name} exited:\n{self.tail()}")

    def start(
        self,
        *,
        ready_url: str | None = None,
        ready_line: str | None = None,
        ready: Callable[[], bool] | None = None,
        timeout: float = STARTUP_TIMEOUT_S,
    ) -> Process:
        """Spawns the process; returns once `ready_url` answers 200, `ready_line` is in its log
        or `ready()` is true. BenchError (with the log's tail) if it exits or times out."""
        probes = [probe for probe in (ready, ready_url and url_answers(ready_url)) if probe]
        if ready_line is not None:
            probes.append(lambda: ready_line in self.output())
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not any(started is self for started in _STARTED):
            _STARTED.append(self)
        self.spawned_at = time.time()
        deadline = time.monotonic() + timeout
        while not any(probe() for probe in probes):
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.02)
        self.ready_at = time.time()
        log(f"{self.name} ready (pid {self.pid}) in {self.ready_at - self.spawned_at:.2f} s")
        return self

    def stop(self) -> None:
        """SIGTERM (a worker finishes its jobs in flight), SIGKILL after STOP_TIMEOUT_S."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s: SIGKILL")
            process.kill()
            process.wait(STOP_TIMEOUT_S)
        log(f"stopped {self.name} (exit code {process.returncode})")


def log_tails(lines: int = 20) -> str:
    """The last lines of every process started in this run, for a failure's report."""
    return "\n".join(f"--- {process.name}:\n{process.tail(lines)}" for process in _STARTED)


def stop_all() -> None:
    """Stops every process of the run still running, the last started first."""
    for process in reversed(_STARTED):
        process.stop()
