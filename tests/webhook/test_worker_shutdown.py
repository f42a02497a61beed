"""SIGTERM to `gotong-gql worker` with a delivery in flight: the job finishes within
SHUTDOWN_TIMEOUT_SECONDS, or, past it, the worker exits anyway and leaves the event to be
delivered by another worker (nothing recorded, nothing lost)."""

from __future__ import annotations

import asyncio
import signal
import time

from tests.e2e.processes import Process, start_worker
from tests.e2e.server import free_port
from tests.helpers import register
from tests.webhook.conftest import eventually
from tests.webhook.test_delivery import _contribute, _delivered, _event_row, _received


async def _terminate(process: Process) -> float:
    """SIGTERM; the seconds until the process has exited (at most 30)."""
    started = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    for _ in range(300):
        if process.process.poll() is not None:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError("the worker did not exit within 30 s of SIGTERM")


async def _at_the_receiver(markov) -> None:
    async def arrived():
        return markov.stats()["webhook_requests"] == 1

    await eventually(arrived)


async def test_sigterm_lets_the_delivery_in_flight_finish(
    api, markov, worker, worker_env, tmp_path
):
    worker.stop()
    try:
        markov.fault(delay=0.8, times=1)  # at the receiver for 0.8 s, under the 1 s timeout
        event_id = await _contribute(api, await register(api, "ayu"))
        stopping = start_worker({**worker_env, "SHUTDOWN_TIMEOUT_SECONDS": "5"}, tmp_path / "w.log")
        await _at_the_receiver(markov)
        assert await _terminate(stopping) < 5
        row = await _event_row(api, event_id)  # delivered by the stopping worker itself
        assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
        assert len(_received(markov, event_id)) == 1
        log = (tmp_path / "w.log").read_text()
        assert "worker stopped" in log
        assert "Traceback" not in log
    finally:
        worker.start(ready="worker started")


async def test_sigterm_past_the_bound_releases_the_delivery(
    api, markov, worker, worker_env, tmp_path
):
    worker.stop()
    try:
        markov.fault(delay=2, times=1)
        event_id = await _contribute(api, await register(api, "ayu"))
        env = {**worker_env, "SHUTDOWN_TIMEOUT_SECONDS": "0.5", "WEBHOOK_TIMEOUT_SECONDS": "2.5"}
        stopping = start_worker(env, tmp_path / "w.log")
        await _at_the_receiver(markov)
        assert await _terminate(stopping) < 2  # before the receiver has even answered
        row = await _event_row(api, event_id)
        assert (row.status, row.attempts) == ("processing", 0)  # released: no attempt burnt
        assert "left to another worker" in (tmp_path / "w.log").read_text()
    finally:
        worker.start(ready="worker started")
    # The next worker's sweeper takes it over once the lease has run out.
    row = await eventually(lambda: _delivered(api, event_id), timeout=30)
    assert row.attempts == 1
    assert {r["headers"]["webhook-id"] for r in _received(markov, event_id)} == {event_id}


async def test_sigterm_to_the_parent_stops_every_worker_process(worker_env, tmp_path):
    env = {**worker_env, "WORKER_METRICS_PORT": str(free_port()), "SHUTDOWN_TIMEOUT_SECONDS": "2"}
    log = tmp_path / "w.log"
    parent = Process(["worker", "--processes", "2", "--threads", "1"], env, log)
    parent.start(ready="worker started")

    async def both_started():
        return log.read_text().count("worker started") == 2

    await eventually(both_started)
    assert await _terminate(parent) < 4
    assert log.read_text().count("worker stopped") == 2
