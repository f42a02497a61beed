"""Reputation read from Markov: cached in Redis and the table; stale when Markov is down."""

from __future__ import annotations

import base64

from tests.helpers import register, uuid_text
from tests.webhook.conftest import eventually
from tests.webhook.test_delivery import _contribute, _delivered

REPUTATION = """query($u: String!) { user(by: {username: $u}) { reputation {
  score tier contributionsCount vouchesReceived skills { skillId competence } stale } } }"""


async def test_reputation_is_cached_and_served_stale_when_markov_is_down(
    api, markov, worker, redis_client
):
    ayu = await register(api, "ayu")
    event_id = await _contribute(api, ayu)
    await eventually(lambda: _delivered(api, event_id))
    (skill,) = await api.sql("SELECT id FROM skills")

    first = (await api.gql(REPUTATION, {"u": "ayu"}, ayu.token))["user"]["reputation"]
    assert first["score"] == 0.1
    assert (first["tier"], first["contributionsCount"], first["vouchesReceived"]) == (
        "NEWCOMER",
        1,
        0,
    )
    skill_id = base64.b64encode(f"Skill:{uuid_text(skill.id)}".encode()).decode()
    assert first["skills"] == [{"skillId": skill_id, "competence": 0.2}]
    assert first["stale"] is False
    assert markov.stats()["reputation_requests"] == 1
    (user,) = await api.sql("SELECT id FROM users")
    assert 0 < redis_client.ttl(f"reputation:{uuid_text(user.id)}") <= 300

    second = (await api.gql(REPUTATION, {"u": "ayu"}, ayu.token))["user"]["reputation"]
    assert second == first
    assert markov.stats()["reputation_requests"] == 1  # a cache hit makes no HTTP call

    markov.fault(reputation_status=503, reputation_times=-1)
    redis_client.flushdb()  # the cache expired
    stale = (await api.gql(REPUTATION, {"u": "ayu"}, ayu.token))["user"]["reputation"]
    assert stale == {**first, "stale": True}
    assert markov.stats()["reputation_requests"] == 2
    (row,) = await api.sql("SELECT score, tier FROM reputation_cache")
    assert (row.score, row.tier) == (0.1, "newcomer")


async def test_reputation_is_null_when_never_known_and_markov_is_down(api, markov, worker):
    ayu = await register(api, "ayu")
    markov.fault(reputation_status=500, reputation_times=-1)
    data = await api.gql(REPUTATION, {"u": "ayu"}, ayu.token)
    assert data["user"]["reputation"] is None
