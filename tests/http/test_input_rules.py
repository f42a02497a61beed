"""Stored markup and NUL bytes: links are parsed by a real URL parser before they are stored, and
a NUL character in any string input is refused before anything runs (PostgreSQL refuses NUL in
text, so on that engine it used to end as INTERNAL)."""

from __future__ import annotations

import pytest

from tests.helpers import register

UPDATE = """mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) {
  user { avatarUrl } errors { field code } } }"""
CONTRIBUTE = """mutation($input: ContributionCreateInput!) { contributionCreate(input: $input) {
  contribution { evidenceUrl } errors { field code } } }"""
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
    assert payload == {"user": None, "errors": [{"field": "avatarUrl", "code": "INVALID_INPUT"}]}
    variables = {"input": {"contributionType": "CUSTOM", "title": "t", "evidenceUrl": url}}
    payload = (await api.gql(CONTRIBUTE, variables, ayu.token))["contributionCreate"]
    assert payload == {
        "contribution": None,
        "errors": [{"field": "evidenceUrl", "code": "INVALID_INPUT"}],
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
    assert refused["accountUpdate"]["errors"] == [{"field": "avatarUrl", "code": "INVALID_INPUT"}]
    variables = {
        "input": {"contributionType": "CUSTOM", "title": "t", "evidenceUrl": "http://x.example"}
    }
    refused = await api.gql(CONTRIBUTE, variables, ayu.token)
    assert refused["contributionCreate"]["errors"] == [
        {"field": "evidenceUrl", "code": "INVALID_INPUT"}
    ]
    taken = await api.gql(UPDATE, {"input": {"avatarUrl": "https://x.example/a.png"}}, ayu.token)
    assert taken["accountUpdate"]["errors"] == []
