"""Real processes for the tests: the Markov stub and the worker, on free ports, stopped after."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.server import BIN, free_port


class Process:
    """One `gotong-gql <command>` child process, with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready: str, timeout: float = 30) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(BIN), *self.args],
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while ready not in self.log.read_text(errors="replace")[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.args[0]} did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, as when a machine dies."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class MarkovStub:
    def __init__(self, base_url: str, process: Process) -> None:
        self.base_url, self.process = base_url, process

    def reset(self) -> None:
        httpx.post(f"{self.base_url}/_stub/reset", timeout=5).raise_for_status()

    def fault(self, **fault: object) -> None:
        httpx.post(f"{self.base_url}/_stub/faults", json=fault, timeout=5).raise_for_status()

    def events(self) -> list[dict]:
        return httpx.get(f"{self.base_url}/_stub/events", timeout=5).json()["events"]

    def stats(self) -> dict:
        return httpx.get(f"{self.base_url}/_stub/stats", timeout=5).json()


def start_markov_stub(env: dict[str, str], log: Path) -> MarkovStub:
    port = free_port()
    process = Process(["markov-stub", "--port", str(port)], env, log)
    process.start(ready="Uvicorn running")
    return MarkovStub(f"http://127.0.0.1:{port}", process)


def start_worker(env: dict[str, str], log: Path) -> Process:
    env = {"WORKER_METRICS_PORT": str(free_port()), **env}
    return Process(["worker", "--threads", "2"], env, log).start(ready="worker started")
