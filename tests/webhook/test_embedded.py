"""The embedded mode: no Redis, no worker process; the API process delivers by itself."""

from __future__ import annotations

import pytest

from gotong_gql.settings import Settings
from tests.conftest import JWT_SECRET
from tests.helpers import register
from tests.webhook.conftest import MARKOV_SECRET, TIMINGS, eventually
from tests.webhook.test_delivery import _contribute, _delivered, _received


@pytest.fixture
def settings(database, tmp_path, markov):
    markov.reset()
    return Settings(
        gotong_env="test",
        database_url=database.url,
        markov_base_url=markov.base_url,
        markov_webhook_secret=MARKOV_SECRET,
        jwt_secret=JWT_SECRET,
        var_dir=tmp_path / "var",
        **{key.lower(): float(value) for key, value in TIMINGS.items()},
    )


async def test_in_process_queue_delivers_and_retries(api, markov):
    markov.fault(status=500, times=1)
    event_id = await _contribute(api, await register(api, "ayu"))
    row = await eventually(lambda: _delivered(api, event_id))
    assert row.attempts == 2
    assert [r["status"] for r in _received(markov, event_id)] == [500, 200]


async def test_in_process_sweeper_recovers_a_lost_job(api, markov, monkeypatch):
    async def lost(*args, **kwargs):
        raise RuntimeError("the job was lost")

    monkeypatch.setattr(api.services.jobs, "send", lost)
    event_id = await _contribute(api, await register(api, "ayu"))
    monkeypatch.undo()
    row = await eventually(lambda: _delivered(api, event_id))
    assert row.attempts == 1
