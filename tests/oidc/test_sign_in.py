"""Signing in with a real OpenID Provider (npm `oidc-provider`, a process on 127.0.0.1) over
HTTP: start -> the provider's login and consent forms -> the redirect with the code ->
oidcTokenCreate -> me; then every refusal, each with its code and nothing written."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.helpers import LOGIN, PASSWORD, register
from tests.oidc.flow import (
    ME,
    at_provider,
    authorize,
    sign_in,
    start,
    token_create,
    without_states,
)
from tests.oidc.provider import APP_REDIRECT

pytestmark = pytest.mark.slow


def _error(payload: dict) -> tuple[str, list[str] | None]:
    assert payload["accessToken"] is None and payload["user"] is None, payload
    [error] = payload["errors"]
    return error["code"], error["path"]


async def test_the_whole_flow_makes_an_account_and_signs_in_again(api, provider):
    started = await start(api)
    url = urlsplit(started["authorizationUrl"])
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{provider.issuer}/auth"
    assert query["client_id"] == "gotong"
    assert query["response_type"] == "code"
    assert query["scope"] == "openid email profile"
    assert query["redirect_uri"] == APP_REDIRECT
    assert query["state"] == started["state"]
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43 and len(query["nonce"]) >= 32
    [(state_hash, verifier)] = await api.sql("SELECT state_hash, code_verifier FROM oidc_states")
    assert state_hash != started["state"] and verifier not in started["authorizationUrl"]

    redirect = await at_provider(started["authorizationUrl"], "ayu")
    assert redirect.params["iss"] == provider.issuer
    payload = await token_create(api, redirect)
    assert payload["errors"] == []
    assert payload["user"]["username"] == "ayu"
    me = (await api.gql(ME, token=payload["accessToken"]))["me"]
    assert me["username"] == "ayu"
    assert me["email"] == "ayu@provider.example"
    [identity] = me["identities"]
    assert identity["provider"] == "testop"
    assert identity["subject"] == "ayu"
    assert identity["email"] == "ayu@provider.example"
    assert identity["linkedAt"].endswith("Z")
    assert await api.sql("SELECT count(*) FROM oidc_states") == [(0,)]
    [(password_hash,)] = await api.sql("SELECT password_hash FROM users")
    assert password_hash == "!"

    # The same person again: the same account, nothing new.
    before = await api.table_counts()
    again = await sign_in(api, "ayu")
    assert again["user"] == payload["user"]
    after = await api.table_counts()
    assert after["users"] == before["users"] == 1
    assert after["oidc_identities"] == 1
    assert after["refresh_tokens"] == before["refresh_tokens"] + 1

    # No password opens an account made by a provider, and the answer is a wrong password's.
    wrong = (await api.gql(LOGIN, {"login": "ayu", "password": PASSWORD}))["tokenCreate"]
    assert wrong["errors"][0]["code"] == "INVALID_CREDENTIALS"
    bang = await api.gql(LOGIN, {"login": "ayu@provider.example", "password": "!"})
    assert bang["tokenCreate"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_usernames_are_made_unique_and_the_email_may_come_from_userinfo(api):
    await register(api, "userinfo")
    payload = await sign_in(api, "userinfo")  # its ID token lacks the email: userinfo has it
    assert payload["user"]["username"] == "userinfo-2"
    me = (await api.gql(ME, token=payload["accessToken"]))["me"]
    assert me["email"] == "userinfo@provider.example"
    assert me["identities"][0]["email"] == "userinfo@provider.example"


async def test_a_tampered_state_is_refused_and_spends_nothing(api):
    redirect = await authorize(api, "budi")
    before = await api.table_counts()
    payload = await token_create(api, redirect, state=redirect.state[:-2] + "xx")
    assert _error(payload) == ("OIDC_STATE_INVALID", ["input", "state"])
    assert await api.table_counts() == before
    # Another provider's name is refused the same way, and spends nothing either.
    payload = await token_create(api, redirect, provider="second")
    assert _error(payload) == ("OIDC_STATE_INVALID", ["input", "state"])
    assert await api.table_counts() == before
    assert (await token_create(api, redirect))["errors"] == []


async def test_a_replayed_state_is_refused(api):
    redirect = await authorize(api, "citra")
    assert (await token_create(api, redirect))["errors"] == []
    before = await api.table_counts()
    payload = await token_create(api, redirect)
    assert _error(payload) == ("OIDC_STATE_INVALID", ["input", "state"])
    assert await api.table_counts() == before


async def test_two_redemptions_of_one_state_at_once_one_wins(api):
    import asyncio

    redirect = await authorize(api, "dewi")
    first, second = await asyncio.gather(token_create(api, redirect), token_create(api, redirect))
    outcomes = sorted([first["errors"], second["errors"]], key=len)
    assert outcomes[0] == []
    assert [error["code"] for error in outcomes[1]] == ["OIDC_STATE_INVALID"]
    counts = await api.table_counts()
    assert counts["users"] == 1 and counts["oidc_identities"] == 1
    assert counts["refresh_tokens"] == 1 and counts["oidc_states"] == 0


async def test_one_new_person_signing_in_twice_at_once_gets_one_account(api):
    """Both make the account; the one that loses on the unique index tries again and signs in."""
    import asyncio

    redirects = [await authorize(api, "gita"), await authorize(api, "gita")]
    first, second = await asyncio.gather(*(token_create(api, r) for r in redirects))
    assert first["errors"] == second["errors"] == []
    assert first["user"] == second["user"]
    counts = await api.table_counts()
    assert (counts["users"], counts["oidc_identities"], counts["refresh_tokens"]) == (1, 1, 2)


async def test_a_wrong_nonce_is_refused(api):
    """The browser's request to the provider carries another nonce (the front channel is the
    client's): the provider signs it into the ID token, and we refuse it."""
    started = await start(api)
    url = urlsplit(started["authorizationUrl"])
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    query["nonce"] = "a-nonce-of-someone-else-0123456789"
    tampered = url._replace(query=urlencode(query)).geturl()
    redirect = await at_provider(tampered, "eko")
    before = await api.table_counts()
    payload = await token_create(api, redirect)
    assert _error(payload) == ("OIDC_TOKEN_INVALID", None)
    assert "nonce" in payload["errors"][0]["message"]
    after = await api.table_counts()
    assert without_states(after) == without_states(before)
    assert after["oidc_states"] == before["oidc_states"] - 1  # spent: a retry starts again


@pytest.mark.parametrize(
    ("login", "code", "words"),
    [
        ("expired", "OIDC_TOKEN_INVALID", "expired"),
        ("stranger", "OIDC_TOKEN_INVALID", "another client (aud)"),
        ("unverified", "OIDC_EMAIL_UNVERIFIED", "did not vouch for an email"),
    ],
)
async def test_tokens_the_provider_signed_but_that_fail_a_check(api, login, code, words):
    redirect = await authorize(api, login)
    before = await api.table_counts()
    payload = await token_create(api, redirect)
    assert _error(payload) == (code, None)
    assert words in payload["errors"][0]["message"]
    assert without_states(await api.table_counts()) == without_states(before)


async def test_a_code_the_provider_refuses(api):
    redirect = await authorize(api, "fajar")
    payload = await token_create(api, redirect, code="not-the-code")
    assert _error(payload) == ("OIDC_TOKEN_INVALID", ["input", "code"])
    assert "invalid_grant" in payload["errors"][0]["message"]


async def test_an_existing_email_is_not_signed_in_to(api):
    owner = await register(api, "owner")  # owner@example.org, which the provider vouches for
    redirect = await authorize(api, "owner")
    before = await api.table_counts()
    payload = await token_create(api, redirect)
    assert _error(payload) == ("OIDC_ACCOUNT_EXISTS", None)
    assert "oidcIdentityLink" in payload["errors"][0]["message"]
    assert without_states(await api.table_counts()) == without_states(before)
    me = (await api.gql(ME, token=owner.token))["me"]
    assert me["identities"] == []


async def test_start_refuses_an_unknown_provider_and_a_redirect_outside_the_list(api):
    before = await api.table_counts()
    for provider, redirect, expected in [
        ("nobody", APP_REDIRECT, ("OIDC_PROVIDER_UNKNOWN", ["input", "provider"])),
        (
            "testop",
            "https://evil.example/cb",
            ("OIDC_REDIRECT_NOT_ALLOWED", ["input", "redirectUri"]),
        ),
        ("testop", APP_REDIRECT + "/", ("OIDC_REDIRECT_NOT_ALLOWED", ["input", "redirectUri"])),
    ]:
        started = await start(api, provider, redirect=redirect)
        assert started["authorizationUrl"] is None and started["state"] is None
        assert [(e["code"], e["path"]) for e in started["errors"]] == [expected]
    assert await api.table_counts() == before
    mobile = await start(api, redirect="com.example.gotong:/oidc")
    assert mobile["errors"] == []
    unknown = await token_create(
        api, type("R", (), {"code": "c", "state": mobile["state"]})(), provider="nobody"
    )
    assert _error(unknown) == ("OIDC_PROVIDER_UNKNOWN", ["input", "provider"])


async def test_providers_are_listed_for_a_login_screen(api):
    data = await api.gql("{ oidcProviders { name displayName } }")
    assert data["oidcProviders"] == [
        {"name": "testop", "displayName": "Test OP"},
        {"name": "second", "displayName": "second"},
    ]
