"""Nothing is lost: a broker that is down at commit, a worker killed mid-delivery, a rollback."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from gotong_gql.jobs import DramatiqJobQueue, create_broker
from gotong_gql.services import Services
from gotong_gql.uow import unit_of_work
from gotong_gql.user.models import User
from gotong_gql.webhook.delivery import deliver_webhook
from gotong_gql.webhook.outbox import write_event
from tests.e2e.processes import start_worker
from tests.helpers import register
from tests.webhook.conftest import MARKOV_SECRET, eventually
from tests.webhook.test_delivery import _contribute, _delivered, _event_row, _received


async def test_broker_down_at_commit_then_the_sweeper_delivers(api, markov, worker, monkeypatch):
    account = await register(api, "ayu")
    # This API process's broker is a real Redis broker at an address where nothing listens.
    unreachable = DramatiqJobQueue(create_broker("redis://127.0.0.1:1/0"))
    monkeypatch.setattr(api.services, "jobs", unreachable)
    event_id = await _contribute(api, account)
    row = await _event_row(api, event_id)
    assert (row.status, row.attempts) == ("pending", 0)  # committed, not lost
    # The worker's sweeper finds it once it is older than the grace period.
    row = await eventually(lambda: _delivered(api, event_id))
    assert row.attempts == 1
    assert len(_received(markov, event_id)) == 1


async def test_worker_killed_mid_delivery_delivers_after_restart(
    api, markov, worker, worker_env, tmp_path
):
    markov.fault(delay=4, times=1)  # the first attempt hangs at the receiver
    worker.kill()
    event_id = await _contribute(api, await register(api, "ayu"))
    first = start_worker(worker_env, tmp_path / "first.log")

    async def at_the_receiver():
        return markov.stats()["webhook_requests"] == 1

    await eventually(at_the_receiver)
    first.kill()  # SIGKILL while the request is at the receiver, before any answer
    row = await _event_row(api, event_id)
    assert (row.status, row.attempts) == ("processing", 0)  # no attempt burnt

    restarted = start_worker(worker_env, tmp_path / "restarted.log")
    try:
        row = await eventually(lambda: _delivered(api, event_id), timeout=30)
        requests = _received(markov, event_id)
        assert row.attempts == 1
        assert 1 <= len(requests) <= 2  # at most a duplicate, never a loss
        assert {r["headers"]["webhook-id"] for r in requests} == {event_id}
        assert len({r["body_b64"] for r in requests}) == 1
    finally:
        restarted.stop()
        worker.start(ready="worker started")  # the module's worker, for the next tests


async def test_a_rolled_back_cause_leaves_no_event(api):
    await register(api, "ayu")
    services: Services = api.services
    async with services.session_factory() as session:
        user = await session.scalar(select(User))
    with pytest.raises(RuntimeError):
        async with (
            services.session_factory() as session,
            unit_of_work(session, services, actor_id=None, request_id="req-rollback") as uow,
        ):
            actor = await session.get(User, user.id)
            write_event(
                uow, "vouch_submitted", actor, {"vouchee_id": str(user.id), "message": "good"}
            )
            await session.flush()
            raise RuntimeError("the cause fails after the event was written")
    assert await api.sql("SELECT event_id FROM webhook_events") == []


async def test_secret_rotation_signs_with_both(api, markov, monkeypatch):
    """During a rotation, webhook-signature carries the new and the previous signature."""
    previous = "the-previous-markov-secret-0123456789"
    services = api.services
    rotated = services.settings.model_copy(
        update={"markov_webhook_secret_previous": SecretStr(previous)}
    )
    monkeypatch.setattr(services, "settings", rotated)
    queued: list[str] = []

    async def keep(name, *args, delay=0.0):
        queued.append(args[0])

    monkeypatch.setattr(services.jobs, "send", keep)  # delivered below, in this process
    event_id = await _contribute(api, await register(api, "ayu"))
    assert queued == [event_id]
    await deliver_webhook(services, event_id)
    (request,) = _received(markov, event_id)
    body = base64.b64decode(request["body_b64"])
    headers = request["headers"]
    signed = f"{event_id}.{headers['webhook-timestamp']}.".encode() + body
    expected = [
        "v1," + base64.b64encode(hmac.new(key.encode(), signed, hashlib.sha256).digest()).decode()
        for key in (MARKOV_SECRET, previous)
    ]
    assert headers["webhook-signature"].split(" ") == expected
    assert request["status"] == 200


async def test_the_slow_lane_retries_a_retryable_dead_letter_by_itself(api, markov, worker):
    markov.fault(status=503, times=5)
    event_id = await _contribute(api, await register(api, "ayu"))

    async def failed():
        row = await _event_row(api, event_id)
        return row if row.status == "failed" else None

    row = await eventually(failed)
    assert row.attempts == 5
    (failure,) = await api.sql("SELECT retryable, next_retry_at, slow_round FROM webhook_failures")
    assert (bool(failure.retryable), failure.slow_round) == (True, 0)
    assert failure.next_retry_at is not None  # five minutes from now
    # Time passes: the dead letter is due; the worker's sweeper sends it once more.
    await api.sql("UPDATE webhook_failures SET next_retry_at = created_at")
    row = await eventually(lambda: _delivered(api, event_id))
    assert row.attempts == 6
    statuses = [r["status"] for r in _received(markov, event_id)]
    assert statuses == [503, 503, 503, 503, 503, 200]
    (replayed,) = await api.sql("SELECT replayed_at FROM webhook_failures")
    assert replayed.replayed_at is not None
