"""Limits checked before execution (graphql/limits/): each refusal runs no SQL, and fast."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query

from tests.helpers import register
from tests.http.conftest import GRAPHQL_RESPONSE, JSON, without_blowup


async def _refused(api, query: str, variables=None, token=None, accept=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    with api.statements as counter, without_blowup():
        response = await api.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    assert counter.count == 0, counter.statements
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body
    return body["errors"]


def _nested(hops: int) -> str:
    """A query 4 * hops + 4 fields deep: `me`, then `tasksCreated { edges { node { creator`
    `hops` times, then `tasksCreated { pageInfo { hasNextPage } }`."""
    hop = "tasksCreated(first: 1) { edges { node { creator { "
    tail = "tasksCreated(first: 1) { pageInfo { hasNextPage } }"
    return "{ me { " + hop * hops + tail + " }" * (4 * hops) + " } }"


@pytest.fixture
async def token(api):
    return (await register(api, "ayu")).token


async def test_depth_20_is_refused(api, token):
    (error,) = await _refused(api, _nested(4), token=token)
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "depth",
        "maximum": 15,
        "actual": 20,
    }


async def test_depth_within_the_limit_runs(api, token):
    response = await api.post(_nested(2), token=token)  # 12 deep
    assert response.status_code == 200
    assert response.json()["data"]["me"]["tasksCreated"] == {"edges": []}


async def test_1000_aliases_are_refused(api, token):
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"
    errors = await _refused(api, query, token=token)
    assert [error["extensions"]["limit"] for error in errors] == ["aliases"]
    assert errors[0]["extensions"]["actual"] == 1000
    assert errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_aliases_count_as_executed_through_fragments(api, token):
    query = (
        "{ ...A ...A2 } fragment A on Query { ...B x1: me { id } } "
        "fragment A2 on Query { ...B } "
        "fragment B on Query { " + " ".join(f"b{i}: me {{ id }}" for i in range(15)) + " }"
    )
    (error,) = await _refused(api, query, token=token)
    assert error["extensions"]["limit"] == "aliases"
    assert error["extensions"]["actual"] == 31


async def test_a_fragment_cycle_is_refused(api, token):
    query = (
        "{ me { ...A } } fragment A on User { id tasksCreated(first: 1) { edges { node {"
        " creator { ...B } } } } } fragment B on User { ...A }"
    )
    errors = await _refused(api, query, token=token)
    assert {error["extensions"]["code"] for error in errors} == {"GRAPHQL_VALIDATION_FAILED"}
    assert any("cannot spread fragment" in error["message"].lower() for error in errors)


@pytest.mark.parametrize("leaf", ["__typename", "a: __typename"])
async def test_fragment_fan_out_is_measured_in_linear_time(api, token, leaf):
    """60 fragments, each spreading the next three times: 3^59 paths. Strawberry's own depth
    and alias limiters would walk every one of them."""
    count = 60
    fragments = [
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} ...F{i + 1} }}"
        for i in range(count - 1)
    ] + [f"fragment F{count - 1} on Query {{ {leaf} }}"]
    query = "{ ...F0 } " + " ".join(fragments)
    if leaf.startswith("a:"):
        (error,) = await _refused(api, query, token=token)
        assert error["extensions"]["limit"] == "aliases"
        assert error["extensions"]["actual"] == 2**53 - 1  # 3^59, capped for JSON
    else:
        with without_blowup():
            response = await api.post(query, token=token)
        assert response.json()["data"] == {"__typename": "Query"}


async def test_first_10000_is_refused_before_execution(api, token):
    (error,) = await _refused(api, "{ tasks(first: 10000) { edges { node { id } } } }", token=token)
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "cost",
        "maximum": 5000,
        "actual": 10000,
    }


async def test_first_10000_in_a_variable_is_refused_too(api, token):
    query = "query($n: Int!) { users(first: $n) { edges { node { id } } } }"
    (error,) = await _refused(api, query, {"n": 10000}, token=token)
    assert error["extensions"]["limit"] == "cost"


async def test_100_by_100_by_100_is_refused(api, token):
    query = """{ users(first: 100) { edges { node {
      tasksCreated(first: 100) { edges { node {
        assignments(first: 100) { edges { node { user { id } } } }
      } } }
    } } } }"""
    (error,) = await _refused(api, query, token=token)
    assert error["extensions"]["limit"] == "cost"
    assert error["extensions"]["actual"] == 100 + 100 * 100 + 100 * 100 * 100


async def test_cost_multiplies_through_fragments_and_plain_lists(api, token):
    query = """{ users(first: 10) { edges { node { ...U } } } }
      fragment U on User { skills { skill { id } } tasksCreated(first: 10) { edges { node {
        ... on Task { skills { id } history(first: 50) { edges { node { action } } } }
      } } } }"""
    (error,) = await _refused(api, query, token=token)
    assert error["extensions"]["actual"] == 10 + 10 * (10 + 10 * 50)


async def test_nodes_count_one_per_id(api, token):
    ids = [f"VXNlcjp{i}" for i in range(6000)]
    (error,) = await _refused(api, "query($i: [ID!]!) { nodes(ids: $i) { id } }", {"i": ids}, token)
    assert error["extensions"]["limit"] == "cost"
    assert error["extensions"]["actual"] == 6000


async def test_the_cost_is_reported_on_success(api, token):
    response = await api.post(
        "{ users(first: 40) { edges { node { tasksCreated(first: 5) { edges { node { id } } } } }"
        " } }",
        token=token,
    )
    assert response.status_code == 200
    assert response.json()["extensions"] == {
        "cost": {"nodes": 40 + 40 * 5, "maxNodes": 5000, "points": 3}
    }


async def test_too_many_tokens_are_refused_by_the_parser(api, token):
    query = "{ me { " + " ".join(["id"] * 6000) + " } }"
    (error,) = await _refused(api, query, token=token)
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": "tokens", "maximum": 5000}


async def test_too_many_directives_are_refused(api, token):
    query = "query A { me { " + " ".join(["id @skip(if: false)"] * 51) + " } }"
    (error,) = await _refused(api, query, token=token)
    assert error["extensions"]["limit"] == "directives"
    assert error["extensions"]["actual"] == 51


async def test_one_credential_mutation_per_operation(api):
    query = """mutation { a: tokenCreate(input: {login: "x", password: "y"}) { accessToken }
      b: tokenCreate(input: {login: "x", password: "z"}) { accessToken } }"""
    (error,) = await _refused(api, query)
    assert error["extensions"]["limit"] == "credentialFields"


@pytest.mark.parametrize("accept", ["application/json"])
async def test_limits_answer_200_to_legacy_json_clients(api, token, accept):
    with api.statements as counter:
        response = await api.client.post(
            "/graphql",
            json={"query": "{ tasks(first: 10000) { edges { node { id } } } }"},
            headers={"Accept": accept, "Authorization": f"Bearer {token}"},
        )
    assert counter.count == 0
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_the_introspection_query_of_graphiql_runs_in_development(api):
    response = await api.client.post(
        "/graphql",
        json={"query": get_introspection_query(descriptions=True)},
        headers={"Accept": "application/json, multipart/mixed"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_circular_introspection_is_refused(api):
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    with api.statements as counter, without_blowup():
        response = await api.client.post("/graphql", json={"query": query})
    assert counter.count == 0
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"] == "Maximum introspection depth exceeded"
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_limits_are_settings(make_api):
    api = await make_api(graphql_max_depth=3, graphql_max_aliases=1, graphql_max_cost=10)
    token = (await register(api, "ayu")).token
    assert (await api.post("{ me { id } }", token=token)).status_code == 200
    deep = await api.post(_nested(0), token=token)
    assert deep.json()["errors"][0]["extensions"]["limit"] == "depth"
    aliased = await api.post("{ a: me { id } b: me { id } }", token=token)
    assert aliased.json()["errors"][0]["extensions"]["limit"] == "aliases"
    costly = await api.post("{ tasks(first: 11) { pageInfo { hasNextPage } } }", token=token)
    assert costly.json()["errors"][0]["extensions"]["limit"] == "cost"
