"""Linking and unlinking identities, who sees them, and the login limits of the OIDC mutations,
against the real OpenID Provider."""

from __future__ import annotations

import asyncio

import pytest
from httpx import ASGITransport, AsyncClient

from gotong_gql.app import create_app
from tests.conftest import CLIENT_HEADERS, truncate_all
from tests.helpers import create_user, register
from tests.oidc.conftest import oidc_settings
from tests.oidc.flow import (
    LINK,
    ME,
    UNLINK,
    authorize,
    link,
    sign_in,
    token_create,
    without_states,
)

pytestmark = pytest.mark.slow
IDENTITIES = """query($id: ID!) { node(id: $id) { ... on User { username email identities {
  provider subject } } } }"""


async def test_the_owner_of_an_existing_email_links_the_provider_then_signs_in_with_it(api):
    owner = await register(api, "owner")
    refused = await token_create(api, await authorize(api, "owner"))
    assert refused["errors"][0]["code"] == "OIDC_ACCOUNT_EXISTS"

    linked = await link(api, owner.token, "owner")
    assert linked == {
        "identity": {"provider": "testop", "subject": "owner", "email": "owner@example.org"},
        "user": {"username": "owner"},
        "errors": [],
    }
    payload = await sign_in(api, "owner")
    assert payload["user"] == {"id": owner.id, "username": "owner"}
    counts = await api.table_counts()
    assert counts["users"] == 1 and counts["oidc_identities"] == 1
    # Linking it again changes nothing.
    assert (await link(api, owner.token, "owner"))["errors"] == []
    assert (await api.table_counts())["oidc_identities"] == 1


async def test_a_flow_finishes_only_as_it_was_started(api):
    """A code got by someone else cannot be linked to your account (login CSRF): a link takes
    only a state that the signed-in user started."""
    victim = await register(api, "victim")
    attacker = await register(api, "attacker")
    for token in (None, attacker.token):
        redirect = await authorize(api, "ayu", token=token)
        before = await api.table_counts()
        variables = {
            "input": {"provider": "testop", "code": redirect.code, "state": redirect.state}
        }
        payload = (await api.gql(LINK, variables, victim.token))["oidcIdentityLink"]
        assert payload["identity"] is None
        assert [(e["code"], e["path"]) for e in payload["errors"]] == [
            ("OIDC_STATE_INVALID", ["input", "state"])
        ]
        assert await api.table_counts() == before


async def test_an_identity_of_someone_else_is_not_linked(api):
    await sign_in(api, "budi")  # budi's account owns testop's "budi"
    other = await register(api, "other")
    before = await api.table_counts()
    payload = await link(api, other.token, "budi")
    assert [e["code"] for e in payload["errors"]] == ["OIDC_ACCOUNT_EXISTS"]
    assert without_states(await api.table_counts()) == without_states(before)
    assert (await link(api, other.token, "citra"))["errors"] == []
    second = await link(api, other.token, "dewi")  # one identity per provider and account
    assert [(e["code"], e["path"]) for e in second["errors"]] == [
        ("OIDC_ACCOUNT_EXISTS", ["input", "provider"])
    ]


async def test_unlink_keeps_a_way_to_sign_in(api):
    made = await sign_in(api, "ayu")  # no password
    token = made["accessToken"]
    before = await api.table_counts()
    last = (await api.gql(UNLINK, {"provider": "testop"}, token))["oidcIdentityUnlink"]
    assert last["user"] is None
    assert [(e["code"], e["path"]) for e in last["errors"]] == [
        ("OIDC_LAST_LOGIN", ["input", "provider"])
    ]
    assert await api.table_counts() == before
    none = (await api.gql(UNLINK, {"provider": "second"}, token))["oidcIdentityUnlink"]
    assert [e["code"] for e in none["errors"]] == ["NOT_FOUND"]

    assert (await link(api, token, "ayu", provider="second"))["errors"] == []
    removed = (await api.gql(UNLINK, {"provider": "testop"}, token))["oidcIdentityUnlink"]
    assert removed == {"user": {"identities": [{"provider": "second"}]}, "errors": []}
    assert (await sign_in(api, "ayu", provider="second"))["user"] == made["user"]

    # With a password, the last identity may go.
    owner = await register(api, "owner")
    assert (await link(api, owner.token, "owner"))["errors"] == []
    gone = (await api.gql(UNLINK, {"provider": "testop"}, owner.token))["oidcIdentityUnlink"]
    assert gone == {"user": {"identities": []}, "errors": []}
    actions = await api.sql("SELECT action FROM audit_log ORDER BY at")
    assert [a for (a,) in actions].count("user.identity_unlink") == 2


async def test_two_unlinks_at_once_leave_one_identity(api):
    made = await sign_in(api, "eko")
    token = made["accessToken"]
    assert (await link(api, token, "eko", provider="second"))["errors"] == []
    answers = await asyncio.gather(
        api.gql(UNLINK, {"provider": "testop"}, token),
        api.gql(UNLINK, {"provider": "second"}, token),
    )
    codes = sorted(
        [e["code"] for e in answer["oidcIdentityUnlink"]["errors"]] for answer in answers
    )
    assert codes == [[], ["OIDC_LAST_LOGIN"]]
    assert await api.sql("SELECT count(*) FROM oidc_identities") == [(1,)]


async def test_identities_are_for_their_owner_and_admins(api):
    made = await sign_in(api, "fajar")
    someone = await register(api, "someone")
    admin = await create_user(api, "root", ["admin"])
    variables = {"id": made["user"]["id"]}
    seen = {}
    for name, token in (("someone", someone.token), ("admin", admin.token)):
        seen[name] = (await api.gql(IDENTITIES, variables, token))["node"]
    assert seen["someone"] == {"username": "fajar", "email": None, "identities": None}
    assert seen["admin"]["identities"] == [{"provider": "testop", "subject": "fajar"}]
    mine = (await api.gql(ME, token=made["accessToken"]))["me"]["identities"]
    assert [identity["subject"] for identity in mine] == ["fajar"]


async def test_the_login_limits_apply(provider, database, tmp_path):
    """oidcTokenCreate is charged to the IP's login window before any SQL and given back when
    it succeeds; one credential mutation per operation."""
    settings = oidc_settings(provider, database, tmp_path, rate_limit_login_ip="3/15 minutes")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        client = AsyncClient(
            transport=ASGITransport(app=app), base_url="http://testserver", headers=CLIENT_HEADERS
        )

        class Api:
            services = app.state.services

            async def gql(self, query, variables=None, token=None):
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                body = {"query": query, "variables": variables or {}}
                response = await client.post("/graphql", json=body, headers=headers)
                assert response.status_code == 200, response.text
                return response.json()["data"]

        api = Api()
        try:
            for _ in range(3):  # each success is given back
                await sign_in(api, "ayu")
            redirect = await authorize(api, "budi")
            for _ in range(3):
                bad = await token_create(api, redirect, state="forged")
                assert bad["errors"][0]["code"] == "OIDC_STATE_INVALID"
            body = {
                "query": "mutation($i: OidcTokenCreateInput!) { oidcTokenCreate(input: $i) { "
                "accessToken errors { code } } }",
                "variables": {"i": {"provider": "testop", "code": "x", "state": redirect.state}},
            }
            limited = await client.post("/graphql", json=body)
            assert limited.status_code == 429
            assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            # Refused before it ran: the state was not spent.
            assert len(await _states(app)) == 1

            two = await client.post(
                "/graphql",
                json={
                    "query": 'mutation { a: oidcTokenCreate(input: {provider: "testop", code: '
                    '"x", state: "y"}) { accessToken } b: tokenCreate(input: {login: "a", '
                    'password: "b"}) { accessToken } }'
                },
            )
            error = two.json()["errors"][0]["extensions"]
            assert (error["code"], error["limit"]) == ("QUERY_TOO_COMPLEX", "credentialFields")
        finally:
            await client.aclose()
            await truncate_all(app.state.services.engine)


async def test_links_are_charged_to_the_account(provider, database, tmp_path):
    settings = oidc_settings(provider, database, tmp_path, rate_limit_login_account="2/15 minutes")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        client = AsyncClient(
            transport=ASGITransport(app=app), base_url="http://testserver", headers=CLIENT_HEADERS
        )
        try:
            token = await _signed_up(client)
            variables = {"input": {"provider": "testop", "code": "x", "state": "forged"}}
            statuses = []
            for _ in range(3):
                response = await client.post(
                    "/graphql",
                    json={"query": LINK, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                )
                statuses.append(response.status_code)
            assert statuses == [200, 200, 429]
        finally:
            await client.aclose()
            await truncate_all(app.state.services.engine)


async def _signed_up(client: AsyncClient) -> str:
    from tests.helpers import LOGIN, PASSWORD, REGISTER

    user = {"username": "linker", "email": "linker@example.org", "password": PASSWORD}
    await client.post("/graphql", json={"query": REGISTER, "variables": {"input": user}})
    variables = {"login": "linker", "password": PASSWORD}
    response = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
    return response.json()["data"]["tokenCreate"]["accessToken"]


async def _states(app) -> list:
    from sqlalchemy import text

    async with app.state.services.engine.connect() as connection:
        return list(await connection.execute(text("SELECT state_hash FROM oidc_states")))
