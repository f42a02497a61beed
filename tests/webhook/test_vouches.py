"""vouchCreate: every refusal writes and sends nothing; a valid vouch reaches Markov."""

from __future__ import annotations

import json

import pytest

from tests.helpers import register, uuid_text
from tests.webhook.conftest import eventually
from tests.webhook.test_delivery import _delivered, _received

VOUCH = """mutation($input: VouchCreateInput!) { vouchCreate(input: $input) {
  vouch { voucher { username } vouchee { username } skill { name } weightHint message }
  errors { path code } } }"""


async def test_vouch_is_delivered_and_counts_as_an_endorsement(api, markov, worker):
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    data = await api.gql(
        VOUCH,
        {
            "input": {
                "voucheeId": budi.id,
                "skill": "Carpentry",
                "weightHint": "STRONG",
                "message": "Fixed my roof",
            }
        },
        ayu.token,
    )
    assert data["vouchCreate"] == {
        "vouch": {
            "voucher": {"username": "ayu"},
            "vouchee": {"username": "budi"},
            "skill": {"name": "carpentry"},
            "weightHint": "STRONG",
            "message": "Fixed my roof",
        },
        "errors": [],
    }
    (event,) = await api.sql("SELECT event_id FROM webhook_events")
    await eventually(lambda: _delivered(api, event.event_id))
    (request,) = _received(markov, event.event_id)
    assert request["status"] == 200
    payload = request["payload"]
    (skill,) = await api.sql("SELECT id FROM skills")
    (budi_row,) = await api.sql("SELECT id FROM users WHERE username = 'budi'")
    assert payload["event_type"] == "vouch_submitted"
    assert payload["actor"]["username"] == "ayu"
    assert payload["subject"] == {
        "vouchee_id": uuid_text(budi_row.id),
        "skill_id": uuid_text(skill.id),
        "weight_hint": "strong",
        "message": "Fixed my roof",
    }
    profile = await api.gql(
        '{ user(by: {username: "budi"}) {'
        " skills { skill { name } proficiency endorsementsCount } } }",
        token=ayu.token,
    )
    assert profile["user"]["skills"] == [
        {"skill": {"name": "carpentry"}, "proficiency": 0.05, "endorsementsCount": 1}
    ]


async def test_refused_vouches_write_nothing_and_send_nothing(api, markov, worker, monkeypatch):
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    first = await api.gql(VOUCH, {"input": {"voucheeId": budi.id}}, ayu.token)
    assert first["vouchCreate"]["errors"] == []
    general = await api.sql("SELECT event_id FROM webhook_events")
    await eventually(lambda: _delivered(api, general[0].event_id))
    before = await api.table_counts()
    requests_before = markov.stats()["webhook_requests"]
    cases = [
        ({"voucheeId": ayu.id}, "SELF_VOUCH", "voucheeId"),
        ({"voucheeId": budi.id}, "DUPLICATE_VOUCH", "voucheeId"),
        ({"voucheeId": "VXNlcjpub3QtYS11dWlk"}, "NOT_FOUND", "voucheeId"),
        ({"voucheeId": budi.id, "message": "x" * 501}, "INVALID_INPUT", "message"),
    ]
    for variables, code, field in cases:
        payload = (await api.gql(VOUCH, {"input": variables}, ayu.token))["vouchCreate"]
        expected = [{"path": ["input", field], "code": code}]
        assert payload == {"vouch": None, "errors": expected}, variables
    # Below the reputation threshold (Markov knows ayu with a score of 0).
    settings = api.services.settings.model_copy(update={"vouch_min_reputation": 0.5})
    monkeypatch.setattr(api.services, "settings", settings)
    low = await api.gql(VOUCH, {"input": {"voucheeId": budi.id, "skill": "masonry"}}, ayu.token)
    assert low["vouchCreate"]["errors"] == [{"path": None, "code": "REPUTATION_TOO_LOW"}]
    after = await api.table_counts()
    # Reading ayu's reputation filled the reputation cache: a copy of Markov's answer, not a
    # change of this system's state.
    assert after.pop("reputation_cache") == 1
    before.pop("reputation_cache")
    assert after == before
    assert markov.stats()["webhook_requests"] == requests_before  # nothing sent


@pytest.mark.parametrize("skill", [None, "carpentry"])
async def test_one_vouch_per_pair_and_skill(api, markov, worker, skill):
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    variables = {"input": {"voucheeId": budi.id, "skill": skill}}
    assert (await api.gql(VOUCH, variables, ayu.token))["vouchCreate"]["errors"] == []
    again = await api.gql(VOUCH, variables, ayu.token)
    assert again["vouchCreate"]["errors"] == [
        {"path": ["input", "voucheeId"], "code": "DUPLICATE_VOUCH"}
    ]
    other = {"input": {"voucheeId": budi.id, "skill": "masonry" if skill else "carpentry"}}
    assert (await api.gql(VOUCH, other, ayu.token))["vouchCreate"]["errors"] == []
    listing = await api.gql(
        "query($u: ID!) { vouches(first: 10, filter: {voucheeId: $u}) { edges { node {"
        " skill { name } } } } }",
        {"u": budi.id},
        ayu.token,
    )
    assert len(listing["vouches"]["edges"]) == 2
    events = await api.sql("SELECT payload FROM webhook_events")
    assert sorted(json.loads(bytes(e.payload))["event_type"] for e in events) == [
        "vouch_submitted",
        "vouch_submitted",
    ]
