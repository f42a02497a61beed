"""Introspection and "Did you mean" suggestions: off in production except for admins."""

from __future__ import annotations

import pytest

from tests.helpers import create_user, register
from tests.http.conftest import GRAPHQL_RESPONSE

SCHEMA = "{ __schema { queryType { name } } }"
TYPE = '{ __type(name: "User") { name } }'
TYPO = "{ mee { id } }"
ENUM_TYPO = """query($s: [TaskStatus!]) {
  tasks(first: 1, filter: {status: $s}) { edges { node { id } } } }"""


@pytest.fixture
async def production(make_api):
    return await make_api(gotong_env="production")


@pytest.mark.parametrize("query", [SCHEMA, TYPE, "{ me { id } __schema { types { name } } }"])
async def test_production_refuses_introspection_to_anonymous_clients(production, query):
    with production.statements as counter:
        response = await production.post(query)
    assert counter.count == 0
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body
    for error in body["errors"]:  # one per introspection field
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection has been disabled" in error["message"]


async def test_production_refuses_introspection_to_users_and_allows_admins(production):
    user = await register(production, "ayu")
    admin = await create_user(production, "root", ["admin"])
    refused = await production.post(SCHEMA, token=user.token)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    allowed = await production.post(SCHEMA, token=admin.token)
    assert allowed.status_code == 200
    assert allowed.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_typename_is_not_introspection(production):
    response = await production.post("{ __typename }")
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def test_development_allows_introspection(api):
    response = await api.post(SCHEMA)
    assert response.status_code == 200
    assert response.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_development_suggests(api):
    (error,) = (await api.post(TYPO)).json()["errors"]
    assert error["message"] == "Cannot query field 'mee' on type 'Query'. Did you mean 'me'?"
    (error,) = (await api.post(ENUM_TYPO, {"s": ["OPN"]})).json()["errors"]
    assert "Did you mean the enum value 'OPEN'?" in error["message"]


async def test_production_does_not_suggest(production):
    user = await register(production, "ayu")
    for token in (None, user.token):
        response = await production.post(TYPO, token=token)
        assert response.status_code == 400
        (error,) = response.json()["errors"]
        assert error["message"] == "Cannot query field 'mee' on type 'Query'."
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        response = await production.post(ENUM_TYPO, {"s": ["OPN"]}, token=token)
        assert response.status_code == 400
        (error,) = response.json()["errors"]
        assert "Did you mean" not in error["message"]
        assert "OPEN" not in error["message"]


async def test_production_suggests_to_admins(production):
    admin = await create_user(production, "root", ["admin"])
    (error,) = (await production.post(TYPO, token=admin.token)).json()["errors"]
    assert error["message"].endswith("Did you mean 'me'?")
    # The answer to an admin is not cached for the others (the ValidationCache is shared).
    (error,) = (await production.post(TYPO)).json()["errors"]
    assert "Did you mean" not in error["message"]
