"""Stored markup and NUL bytes: links are parsed by a real URL parser before they are stored, and
a NUL character in any string input is refused before anything runs (PostgreSQL refuses NUL in
text, so on that engine it used to end as INTERNAL)."""

from __future__ import annotations

import pytest

from tests.helpers import LOGIN, PASSWORD, register
from tests.http.conftest import GRAPHQL_RESPONSE, JSON

UPDATE = """mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) {
  user { avatarUrl } errors { path code } } }"""
CONTRIBUTE = """mutation($input: ContributionCreateInput!) { contributionCreate(input: $input) {
  contribution { evidenceUrl } errors { path code } } }"""
XSS = 'https://x.example/a.png"><script>alert(1)</script>'
REFUSED_URLS = [
    XSS,
    "https://x.example/a.png'onerror='alert(1)",
    "https://x.example/<b>.png",
    "https://x.example/a b.png",
    "https://x.example/a\tb.png",
    "https://x.example/a\\b.png",
    "https://x.example/a`b`.png",
    "javascript:alert(1)//https://x.example",
    "data:text/html,<script>alert(1)</script>",
    "ftp://x.example/a.png",
    "https://trusted.example:pw@evil.example/a.png",
    "https://",
    "https:///a.png",
    "x.example/a.png",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_links_that_could_carry_markup_or_hide_their_target_are_refused(api, url):
    ayu = await register(api, "ayu")
    before = await api.table_counts()
    payload = (await api.gql(UPDATE, {"input": {"avatarUrl": url}}, ayu.token))["accountUpdate"]
    assert payload == {
        "user": None,
        "errors": [{"path": ["input", "avatarUrl"], "code": "INVALID_INPUT"}],
    }
    variables = {"input": {"contributionType": "CUSTOM", "title": "t", "evidenceUrl": url}}
    payload = (await api.gql(CONTRIBUTE, variables, ayu.token))["contributionCreate"]
    assert payload == {
        "contribution": None,
        "errors": [{"path": ["input", "evidenceUrl"], "code": "INVALID_INPUT"}],
    }
    assert await api.table_counts() == before
    (row,) = await api.sql("SELECT avatar_url FROM users")
    assert row.avatar_url is None


async def test_links_are_stored_as_the_parser_writes_them(api):
    ayu = await register(api, "ayu")
    for given, stored in [
        ("  https://x.example/a.png  ", "https://x.example/a.png"),
        ("https://X.Example", "https://x.example/"),
        (
            "https://bücher.example/foto.png?s=1#top",
            "https://xn--bcher-kva.example/foto.png?s=1#top",
        ),
        ("http://127.0.0.1:8000/a.png", "http://127.0.0.1:8000/a.png"),  # not production
    ]:
        payload = await api.gql(UPDATE, {"input": {"avatarUrl": given}}, ayu.token)
        assert payload["accountUpdate"] == {"user": {"avatarUrl": stored}, "errors": []}, given
        (row,) = await api.sql("SELECT avatar_url FROM users")
        assert row.avatar_url == stored


async def test_production_takes_https_links_only(make_api):
    api = await make_api(gotong_env="production")
    ayu = await register(api, "ayu")
    refused = await api.gql(UPDATE, {"input": {"avatarUrl": "http://x.example/a.png"}}, ayu.token)
    assert refused["accountUpdate"]["errors"] == [
        {"path": ["input", "avatarUrl"], "code": "INVALID_INPUT"}
    ]
    variables = {
        "input": {"contributionType": "CUSTOM", "title": "t", "evidenceUrl": "http://x.example"}
    }
    refused = await api.gql(CONTRIBUTE, variables, ayu.token)
    assert refused["contributionCreate"]["errors"] == [
        {"path": ["input", "evidenceUrl"], "code": "INVALID_INPUT"}
    ]
    taken = await api.gql(UPDATE, {"input": {"avatarUrl": "https://x.example/a.png"}}, ayu.token)
    assert taken["accountUpdate"]["errors"] == []


def _refused_for_nul(response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body  # a request error: nothing ran
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": field}


async def test_a_nul_in_any_string_input_is_refused_before_anything_runs(api):
    ayu = await register(api, "ayu")
    before = await api.table_counts()
    cases = [
        (UPDATE, {"input": {"bio": "river\x00volunteer"}}, "$input.bio"),
        (UPDATE, {"input": {"skills": ["python", "go\x00"]}}, "$input.skills.1"),
        (
            CONTRIBUTE,
            {"input": {"contributionType": "CUSTOM", "title": "t", "metadata": {"a": ["\x00"]}}},
            "$input.metadata.a.0",
        ),
        (
            CONTRIBUTE,
            {"input": {"contributionType": "CUSTOM", "title": "t", "metadata": {"k\x00": 1}}},
            "$input.metadata",
        ),
        (
            'mutation { accountUpdate(input: {bio: "a\\u0000b"}) { errors { code } } }',
            {},
            "accountUpdate.input.bio",
        ),
        (
            'mutation { contributionCreate(input: {contributionType: CUSTOM, title: "t",'
            ' metadata: {note: {deep: "x\\u0000"}}}) { errors { code } } }',
            {},
            "contributionCreate.input.metadata.note.deep",
        ),
        (
            "query($s: String) { users(first: 5, filter: {search: $s}) { edges { cursor } } }",
            {"s": "ayu\x00"},
            "$s",
        ),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": "VXNlcjo\x00"},
            "$id",
        ),
    ]
    for query, variables, field in cases:
        with api.statements as counter:
            response = await api.post(query, variables, ayu.token)
        _refused_for_nul(response, field)
        assert counter.count == 0, query
    assert await api.table_counts() == before


async def test_a_nul_in_a_login_is_refused_on_both_engines(api):
    await register(api, "ayu")
    for login, password in (("ayu\x00", PASSWORD), ("ayu", PASSWORD + "\x00")):
        response = await api.post(LOGIN, {"login": login, "password": password})
        _refused_for_nul(response, "$login" if "\x00" in login else "$password")
    legacy = await api.client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"login": "ayu\x00", "password": PASSWORD}},
        headers={"Accept": "application/json"},
    )
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] == JSON
    assert legacy.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
