"""The GraphQL side of a sign-in: start at our API, walk the provider's forms, finish."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.oidc.provider import APP_REDIRECT, Redirect, sign_in_at_provider

ERRORS = "errors { code message path }"
START = f"""mutation($input: OidcAuthorizationStartInput!) {{
  oidcAuthorizationStart(input: $input) {{ authorizationUrl state expiresAt {ERRORS} }} }}"""
TOKEN = f"""mutation($input: OidcTokenCreateInput!) {{
  oidcTokenCreate(input: $input) {{
    accessToken refreshToken user {{ id username }} {ERRORS} }} }}"""
LINK = f"""mutation($input: OidcIdentityLinkInput!) {{
  oidcIdentityLink(input: $input) {{
    identity {{ provider subject email }} user {{ username }} {ERRORS} }} }}"""
UNLINK = f"""mutation($provider: String!) {{
  oidcIdentityUnlink(input: {{provider: $provider}}) {{
    user {{ identities {{ provider }} }} {ERRORS} }} }}"""
ME = "{ me { username email identities { provider subject email linkedAt } } }"


async def start(
    api: Any, provider: str = "testop", token: str | None = None, redirect: str = APP_REDIRECT
) -> dict[str, Any]:
    variables = {"input": {"provider": provider, "redirectUri": redirect}}
    return (await api.gql(START, variables, token))["oidcAuthorizationStart"]


async def at_provider(authorization_url: str, login: str) -> Redirect:
    """The browser's part, off the event loop (the app under test shares it)."""
    return await asyncio.to_thread(sign_in_at_provider, authorization_url, login)


async def authorize(api: Any, login: str, provider: str = "testop", token: str | None = None):
    started = await start(api, provider, token)
    assert started["errors"] == [], started["errors"]
    redirect = await at_provider(started["authorizationUrl"], login)
    assert redirect.state == started["state"]
    return redirect


async def token_create(api: Any, redirect: Redirect, provider: str = "testop", **override):
    variables = {
        "input": {"provider": provider, "code": redirect.code, "state": redirect.state, **override}
    }
    return (await api.gql(TOKEN, variables))["oidcTokenCreate"]


async def sign_in(api: Any, login: str, provider: str = "testop") -> dict[str, Any]:
    payload = await token_create(api, await authorize(api, login, provider), provider)
    assert payload["errors"] == [], payload["errors"]
    return payload


async def link(api: Any, token: str, login: str, provider: str = "testop") -> dict[str, Any]:
    redirect = await authorize(api, login, provider, token)
    variables = {"input": {"provider": provider, "code": redirect.code, "state": redirect.state}}
    return (await api.gql(LINK, variables, token))["oidcIdentityLink"]


def without_states(counts: dict[str, int]) -> dict[str, int]:
    return {table: count for table, count in counts.items() if table != "oidc_states"}
