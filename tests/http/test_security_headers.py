"""Security headers, CORS from the allow-list, WebSocket origins from the same list."""

from __future__ import annotations

import pytest

from tests.helpers import register
from tests.http.conftest import GRAPHQL_RESPONSE, websocket

ALLOWED = "https://app.gotong.example"
OTHER = "https://evil.example"
JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def assert_security_headers(response, csp: str | None = JSON_CSP) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    if csp is not None:
        assert response.headers["content-security-policy"] == csp
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_every_kind_of_response_has_the_headers(api):
    responses = [
        await api.client.post("/graphql", json={"query": "{ __typename }"}),
        await api.client.post("/graphql", json={"query": "{ broken"}),
        await api.client.post("/graphql", content="x", headers={"Content-Type": "text/plain"}),
        await api.client.get("/healthz"),
        await api.client.get("/nowhere"),
    ]
    assert [response.status_code for response in responses] == [200, 400, 415, 200, 404]
    for response in responses:
        assert_security_headers(response)
        assert "strict-transport-security" not in response.headers  # not in development
    assert responses[0].headers["content-type"] == GRAPHQL_RESPONSE


async def test_graphiql_may_not_be_framed(api):
    page = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    # The page may bring a stricter policy of its own (graphiql.py); framing stays refused.
    assert_security_headers(page, csp=None)


async def test_production_adds_hsts(make_api):
    api = await make_api(gotong_env="production")
    for response in (
        await api.client.post("/graphql", json={"query": "{ __typename }"}),
        await api.client.get("/healthz"),
    ):
        assert response.headers["strict-transport-security"] == (
            "max-age=63072000; includeSubDomains"
        )
        assert_security_headers(response)


@pytest.fixture
async def cors_api(make_api):
    return await make_api(cors_origins=[ALLOWED])


async def test_cors_preflight_from_an_allowed_origin(cors_api):
    response = await cors_api.client.options(
        "/graphql",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in response.headers


async def test_cors_preflight_from_another_origin_is_refused(cors_api):
    response = await cors_api.client.options(
        "/graphql",
        headers={
            "Origin": OTHER,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_cors_responses_name_the_origin_and_expose_the_rate_limit(cors_api):
    allowed = await cors_api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": ALLOWED}
    )
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    exposed = allowed.headers["access-control-expose-headers"].lower()
    for name in ("x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"):
        assert name in exposed
    other = await cors_api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": OTHER}
    )
    assert "access-control-allow-origin" not in other.headers


LOCAL = ["http://localhost:5173", "http://127.0.0.1:3000", "http://localhost"]
NOT_LOCAL = [
    "http://localhost.evil.example",
    "http://127.0.0.1.evil.example:3000",
    "https://evil.example/?http://localhost:1",
    "http://evil.example#http://127.0.0.1:80",
]


async def preflight(api, origin):
    return await api.client.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


@pytest.mark.parametrize("origin", LOCAL)
async def test_development_allows_local_origins_on_any_port(api, origin):
    response = await preflight(api, origin)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    query = await api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": origin}
    )
    assert query.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize("origin", NOT_LOCAL)
async def test_development_allows_nothing_that_only_looks_local(api, origin):
    response = await preflight(api, origin)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("origin", LOCAL[:2])
async def test_production_keeps_the_explicit_list(make_api, origin):
    production = await make_api(gotong_env="production", cors_origins=[ALLOWED])
    refused = await preflight(production, origin)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert (await preflight(production, ALLOWED)).headers["access-control-allow-origin"] == ALLOWED
    async with websocket(production.app, {"Origin": origin}) as ws:
        assert ws.accepted is False
        assert ws.close_code == 1008


@pytest.mark.parametrize(
    ("origin", "accepted"), [(o, True) for o in LOCAL] + [(NOT_LOCAL[0], False)]
)
async def test_development_websockets_from_local_origins(api, origin, accepted):
    account = await register(api, "ayu")
    async with websocket(api.app, {"Origin": origin}) as ws:
        assert ws.accepted is accepted
        if not accepted:
            return
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {account.token}"}}
        )
        assert (await ws.receive_json())["type"] == "connection_ack"


async def test_no_origin_is_allowed_by_default(api):
    response = await api.client.options(
        "/graphql",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (ALLOWED, True),
        (OTHER, False),
        ("http://testserver", True),  # the same origin
        (None, True),  # not a browser: no ambient credentials to abuse
    ],
)
async def test_websocket_origins_come_from_the_same_list(cors_api, origin, accepted):
    account = await register(cors_api, "ayu")
    async with websocket(cors_api.app, {"Origin": origin} if origin else {}) as ws:
        assert ws.accepted is accepted
        if not accepted:
            assert ws.close_code == 1008  # refused before the handshake completes: HTTP 403
            return
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {account.token}"}}
        )
        assert (await ws.receive_json())["type"] == "connection_ack"
