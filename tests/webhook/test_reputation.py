"""Reputation read from Markov: cached in Redis and the table; stale when Markov is down."""

from __future__ import annotations

import base64

from sqlalchemy import event

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


USERS = "{ users(first: 10) { edges { node { username reputation { score tier stale } } } } }"


async def test_a_list_of_users_asks_markov_once_each_and_keeps_the_answers_at_once(
    api, markov, worker, redis_client
):
    """Issue 13: one cache round trip for the list, Markov asked for each user not cached, the
    answers kept with one statement (one connection besides the request's)."""
    accounts = [await register(api, name) for name in ("ayu", "budi", "citra")]
    checkouts: list[object] = []
    engine = api.services.engine.sync_engine

    def checkout(*args: object) -> None:
        checkouts.append(args)

    newcomer = {"score": 0.0, "tier": "NEWCOMER", "stale": False}
    expected = [{"username": name, "reputation": newcomer} for name in ("ayu", "budi", "citra")]
    event.listen(engine, "checkout", checkout)
    try:
        with api.statements as counter:
            data = await api.gql(USERS, token=accounts[0].token)
        assert [edge["node"] for edge in data["users"]["edges"]] == expected
        assert markov.stats()["reputation_requests"] == 3
        assert len(checkouts) == 2  # the request's connection, the cache write's
        assert counter.count == 2, counter.statements  # the page, the three rows kept
        assert [row.tier for row in await api.sql("SELECT tier FROM reputation_cache")] == [
            "newcomer"
        ] * 3

        checkouts.clear()
        with api.statements as counter:
            data = await api.gql(USERS, token=accounts[0].token)
        assert [edge["node"] for edge in data["users"]["edges"]] == expected
        assert markov.stats()["reputation_requests"] == 3  # cached: no HTTP call
        assert (counter.count, len(checkouts)) == (1, 1)
    finally:
        event.remove(engine, "checkout", checkout)
