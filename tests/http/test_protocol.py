"""GraphQL over HTTP: media types, status codes, methods, bodies (graphql/http.py)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import LOGIN, PASSWORD, REGISTER, register
from tests.http.conftest import GRAPHQL_RESPONSE, JSON, error_code, without_blowup

TASKS = "{ tasks(first: 5) { edges { node { id } } } }"
REGISTER_VARIABLES = {
    "input": {"username": "formpost", "email": "formpost@example.org", "password": PASSWORD}
}


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, JSON),  # no Accept: legacy clients (graphql-http's audit 80D8)
        ("*/*", JSON),  # audit 47DE
        ("application/*", JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json; charset=utf-8, application/json", GRAPHQL_RESPONSE),
        ("application/json", JSON),
        ("application/json, multipart/mixed", JSON),  # GraphiQL's fetcher
        ("application/json, application/graphql-response+json", JSON),  # the client's order
        ("application/graphql-response+json;q=0.5, application/json", JSON),
        ("application/json;charset=latin-1, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("*/*, application/graphql-response+json;q=0", JSON),
        ("*/*, application/graphql-response+json", GRAPHQL_RESPONSE),  # named beats a wildcard
        ("application/*;q=0.5, application/graphql-response+json;q=0.4", JSON),
        ("application/*;q=0, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("text/html, application/json;q=0.9, */*;q=0.8", JSON),
        # urql's default fetch: JSON first, so a query gets JSON, not an event stream
        (
            "application/graphql-response+json, application/json, text/event-stream",
            GRAPHQL_RESPONSE,
        ),
        ("application/json, text/event-stream;q=0.5", JSON),
    ],
)
async def test_the_response_media_type_follows_accept(api, accept, media_type):
    headers = {"Accept": accept} if accept else {}
    request = api.client.build_request("POST", "/graphql", json={"query": "{ __typename }"})
    if accept is None:
        del request.headers["accept"]
    request.headers.update(headers)
    response = await api.client.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("accept", ["text/plain", "application/xml", "application/json;q=0"])
async def test_nothing_acceptable_is_406(api, accept):
    with api.statements as counter:
        response = await api.client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Accept": accept}
        )
    assert response.status_code == 406
    assert response.headers["content-type"] == JSON
    assert error_code(response) == "NOT_ACCEPTABLE"
    assert counter.count == 0


@pytest.mark.parametrize(
    ("accept", "status", "media_type"),
    [("application/graphql-response+json", 400, GRAPHQL_RESPONSE), ("application/json", 200, JSON)],
)
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ tasks(first: 5) { edges "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nosuchfield }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "query A { __typename } query B { __typename }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "{ __typename }", "operationName": "Missing"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query($n: Int!) { tasks(first: $n) { edges { node { id } } } }"},
            "GRAPHQL_VALIDATION_FAILED",  # a required variable is missing
        ),
        (
            {
                "query": "query($n: Int!) { tasks(first: $n) { edges { node { id } } } }",
                "variables": {"n": "five"},
            },
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ],
)
async def test_request_errors_have_no_data_and_the_status_of_the_media_type(
    api, accept, status, media_type, body, code
):
    token = (await register(api, "ayu")).token
    with api.statements as counter:
        response = await api.client.post(
            "/graphql",
            json=body,
            headers={"Accept": accept, "Authorization": f"Bearer {token}"},
        )
    assert response.status_code == status
    assert response.headers["content-type"] == media_type
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == code
    assert counter.count == 0


@pytest.mark.parametrize("accept", ["application/graphql-response+json", "application/json"])
async def test_field_errors_are_200_with_data(api, accept):
    response = await api.client.post("/graphql", json={"query": TASKS}, headers={"Accept": accept})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["tasks"]


async def test_get_runs_queries(api):
    token = (await register(api, "ayu")).token
    response = await api.client.get(
        "/graphql",
        params={
            "query": "query($n: Int!) { tasks(first: $n) { edges { node { id } } } }",
            "variables": json.dumps({"n": 3}),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json()["data"] == {"tasks": {"edges": []}}


async def test_a_mutation_over_get_is_405_and_does_nothing(api):
    # Not a test password: a URL is logged (by httpx here, by proxies and servers in real life),
    # which is why GET never runs mutations.
    variables = {"input": {**REGISTER_VARIABLES["input"], "password": "throwaway-in-a-url"}}
    before = await api.table_counts()
    with api.statements as counter:
        response = await api.client.get(
            "/graphql", params={"query": REGISTER, "variables": json.dumps(variables)}
        )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert error_code(response) == "METHOD_NOT_ALLOWED"
    assert counter.count == 0
    assert await api.table_counts() == before


async def test_get_picks_the_operation_by_name(api):
    document = (
        'query Q { __typename } mutation M { tokenRevoke(input: {refreshToken: "x"}) { revoked } }'
    )
    query = await api.client.get("/graphql", params={"query": document, "operationName": "Q"})
    assert query.status_code == 200
    assert query.json()["data"] == {"__typename": "Query"}
    mutation = await api.client.get("/graphql", params={"query": document, "operationName": "M"})
    assert mutation.status_code == 405


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", "query=mutation+%7B+__typename+%7D"),
        ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=query"),
        ("text/plain", json.dumps({"query": REGISTER, "variables": REGISTER_VARIABLES})),
        ("application/graphql", REGISTER),
        ("application/json; charset=latin-1", json.dumps({"query": "{ __typename }"})),
        (None, json.dumps({"query": REGISTER, "variables": REGISTER_VARIABLES})),
    ],
)
async def test_other_request_media_types_are_415_and_never_execute(api, content_type, content):
    """Form posts and text/plain are what a page on another site can send without a CORS
    preflight (CSRF): they never reach the schema."""
    headers = {"Content-Type": content_type} if content_type else {}
    before = await api.table_counts()
    with api.statements as counter:
        request = api.client.build_request("POST", "/graphql", content=content, headers=headers)
        if content_type is None:
            request.headers.pop("content-type", None)
        response = await api.client.send(request)
    assert response.status_code == 415
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert error_code(response) == "UNSUPPORTED_MEDIA_TYPE"
    assert counter.count == 0
    assert await api.table_counts() == before


async def test_json_with_an_explicit_utf8_charset_is_fine(api):
    response = await api.client.post(
        "/graphql",
        content=json.dumps({"query": "{ __typename }"}),
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 200


async def test_a_5_mb_body_is_413_before_it_is_read(api):
    body = json.dumps({"query": "{ __typename }", "variables": {"x": "a" * 5_000_000}})
    with api.statements as counter, without_blowup():
        response = await api.client.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert error_code(response) == "PAYLOAD_TOO_LARGE"
    assert counter.count == 0


async def test_a_streamed_body_without_length_stops_at_the_limit(api):
    read = 0

    async def chunks():
        nonlocal read
        for _ in range(80):  # 5 MB in 64 KB chunks
            read += 65536
            yield b" " * 65536

    with api.statements as counter, without_blowup():
        response = await api.client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert error_code(response) == "PAYLOAD_TOO_LARGE"
    assert read <= 1024 * 1024 + 2 * 65536  # it stopped reading soon after 1 MB
    assert counter.count == 0


async def test_the_body_limit_is_a_setting(make_api):
    api = await make_api(graphql_max_body_bytes=2048)
    small = await api.client.post("/graphql", json={"query": "{ __typename }"})
    assert small.status_code == 200
    large = await api.client.post("/graphql", json={"query": "{ __typename }", "x": "a" * 3000})
    assert large.status_code == 413


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("NONSENSE", "BAD_REQUEST"),
        ('{"query":', "BAD_REQUEST"),
        ('{"qeury": "{ __typename }"}', "BAD_REQUEST"),
        ('{"query": 7}', "BAD_REQUEST"),
        ('{"query": "{ __typename }", "variables": [7]}', "BAD_REQUEST"),
        ('{"query": "{ __typename }", "operationName": 7}', "BAD_REQUEST"),
        ('{"query": "{ __typename }", "extensions": "x"}', "BAD_REQUEST"),
        ('"{ __typename }"', "BAD_REQUEST"),
        (
            '{"query": "{ __typename }", "variables": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "BAD_REQUEST",
        ),
        ('{"query": "{ __typename }"}'.encode("utf-16"), "BAD_REQUEST"),
        ('[{"query": "{ __typename }"}, {"query": "{ __typename }"}]', "BATCHING_NOT_SUPPORTED"),
    ],
)
async def test_malformed_requests_are_400(api, content, code):
    with api.statements as counter:
        response = await api.client.post(
            "/graphql", content=content, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert error_code(response) == code
    assert counter.count == 0


async def test_get_with_bad_variables_is_400(api):
    response = await api.client.get(
        "/graphql", params={"query": "{ __typename }", "variables": "{nope"}
    )
    assert response.status_code == 400
    assert error_code(response) == "BAD_REQUEST"


URQL_ACCEPT = "application/graphql-response+json, application/json, text/event-stream"


async def test_urqls_default_accept_runs_queries_and_mutations(api):
    """urql's fetch lists text/event-stream last: queries and mutations get JSON (they got 400
    "text/event-stream is for one subscription" when any listed stream type meant SSE)."""
    await register(api, "ayu")
    login = await api.client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"login": "ayu", "password": PASSWORD}},
        headers={"Accept": URQL_ACCEPT},
    )
    assert login.status_code == 200
    assert login.headers["content-type"] == GRAPHQL_RESPONSE
    assert login.json()["data"]["tokenCreate"]["errors"] == []
    token = login.json()["data"]["tokenCreate"]["accessToken"]
    query = await api.client.post(
        "/graphql",
        json={"query": "{ me { username } }"},
        headers={"Accept": URQL_ACCEPT, "Authorization": f"Bearer {token}"},
    )
    assert query.status_code == 200
    assert query.headers["content-type"] == GRAPHQL_RESPONSE
    assert query.json()["data"] == {"me": {"username": "ayu"}}


def stream_events(text: str) -> list[tuple[str, str]]:
    events = []
    for block in text.split("\n\n"):
        if block:
            name, data = block.split("\n")
            events.append((name.removeprefix("event: "), data.removeprefix("data: ")))
    return events


@pytest.mark.parametrize(
    "accept",
    [
        "text/event-stream",
        "text/event-stream, application/json",
        "application/json;q=0.9, text/event-stream",
        "text/*, application/json;q=0.5",
    ],
)
async def test_a_client_preferring_a_stream_gets_one_result_as_one_event(api, accept):
    await register(api, "ayu")
    response = await api.client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"login": "ayu", "password": PASSWORD}},
        headers={"Accept": accept},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"  # it holds tokens
    (next_name, data), complete = stream_events(response.text)
    assert next_name == "next"
    assert json.loads(data)["data"]["tokenCreate"]["errors"] == []
    assert complete == ("complete", "")


async def test_a_request_error_for_a_stream_is_a_json_400(api):
    with api.statements as counter:
        response = await api.client.post(
            "/graphql", json={"query": "{ nosuchfield }"}, headers={"Accept": "text/event-stream"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert error_code(response) == "GRAPHQL_VALIDATION_FAILED"
    assert counter.count == 0


@pytest.mark.parametrize("accept", ["text/event-stream", "*/*;q=0, text/event-stream;q=0"])
async def test_no_stream_over_get_and_no_stream_at_q_0(api, accept):
    response = await api.client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"Accept": accept}
    )
    assert response.status_code == 406
    assert error_code(response) == "NOT_ACCEPTABLE"


async def test_subscriptions_are_not_served_over_http(api):
    response = await api.client.post(
        "/graphql", json={"query": 'subscription { taskUpdated(taskId: "x") { type } }'}
    )
    assert response.status_code == 400
    assert error_code(response) == "BAD_REQUEST"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(api, method):
    response = await api.client.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert error_code(response) == "METHOD_NOT_ALLOWED"


async def test_graphiql_still_answers_browsers_in_development(api):
    page = await api.client.get(
        "/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.text.lower()
    # A browser that names a query gets the query's result, not the page.
    result = await api.client.get(
        "/graphql",
        params={"query": "{ __typename }"},
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert result.headers["content-type"] == JSON  # the browser's */*: legacy JSON
    assert result.json()["data"] == {"__typename": "Query"}


async def test_a_login_answers_in_both_media_types(api):
    await register(api, "ayu")
    for accept, media_type in (
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json", JSON),
    ):
        response = await api.client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"login": "ayu", "password": PASSWORD}},
            headers={"Accept": accept},
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
        assert response.headers["cache-control"] == "no-store"  # tokens are never cached
        assert response.json()["data"]["tokenCreate"]["errors"] == []
