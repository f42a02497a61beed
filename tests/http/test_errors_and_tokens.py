"""Masked unexpected errors with the request id; token checks, through HTTP and WebSocket."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from tests.conftest import JWT_SECRET
from tests.helpers import register
from tests.http.conftest import GRAPHQL_RESPONSE, JSON, WebSocketClosed, websocket

USER = '{ user(by: {username: "ayu"}) { id } }'
ME_TASKS = "{ tasks(first: 1) { edges { node { id } } } }"


@pytest.fixture
def broken_lookup(monkeypatch):
    from gotong_gql.user import service

    async def broken(*args, **kwargs):
        raise RuntimeError("connection to db-7.internal failed: SECRET-DETAIL-42")

    monkeypatch.setattr(service, "find_user", broken)


# An unexpected error inside the executor (the compiled path never raises into a response: a
# failing statement is handed to the executor, tests/compiler).
@pytest.mark.executor
@pytest.mark.parametrize(
    ("accept", "media_type"),
    [("application/graphql-response+json", GRAPHQL_RESPONSE), ("application/json", JSON)],
)
async def test_unexpected_errors_are_masked_with_the_request_id(
    api, broken_lookup, caplog, accept, media_type
):
    token = (await register(api, "ayu")).token
    with caplog.at_level(logging.ERROR, logger="gotong_gql.graphql"):
        response = await api.client.post(
            "/graphql",
            json={"query": USER},
            headers={"Authorization": f"Bearer {token}", "Accept": accept},
        )
    assert response.status_code == 200  # a field error: the operation ran
    assert response.headers["content-type"] == media_type
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_")
    body = response.json()
    assert body["data"] == {"user": None}
    (error,) = body["errors"]
    assert error["message"] == "Internal server error"
    assert error["path"] == ["user"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert "SECRET-DETAIL-42" not in response.text
    assert "RuntimeError" not in response.text
    # The details are in the log, with the request id to find them.
    (record,) = [r for r in caplog.records if r.name == "gotong_gql.graphql"]
    assert request_id in record.getMessage()
    assert "SECRET-DETAIL-42" in caplog.text


@pytest.mark.executor
async def test_the_client_request_id_is_kept(api, broken_lookup):
    token = (await register(api, "ayu")).token
    response = await api.client.post(
        "/graphql",
        json={"query": USER},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-abc.1"},
    )
    assert response.headers["x-request-id"] == "trace-abc.1"
    assert response.json()["errors"][0]["extensions"]["requestId"] == "trace-abc.1"


async def test_every_response_has_a_request_id(api):
    for response in (
        await api.client.post("/graphql", json={"query": "{ __typename }"}),
        await api.client.post("/graphql", content="x", headers={"Content-Type": "text/plain"}),
        await api.client.get("/graphql", headers={"Accept": "text/html"}),
    ):
        assert response.headers["x-request-id"].startswith("req_")


def _claims(user_id: str, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": "gotong-gql",
        "aud": "gotong-gql",
        "sub": user_id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        "typ": "access",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _sign(claims: dict, alg: str = "HS256") -> str:
    if alg == "RS256":
        return jwt.encode({"alg": alg}, claims, RSAKey.generate_key(2048))
    return jwt.encode({"alg": alg}, claims, OctKey.import_key(JWT_SECRET), algorithms=[alg])


def _unsigned(claims: dict) -> str:
    import base64
    import json

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


FORGERIES = {
    "alg none": (lambda uid: _unsigned(_claims(uid)), "INVALID_TOKEN"),
    "HS512 with the right key": (lambda uid: _sign(_claims(uid), "HS512"), "INVALID_TOKEN"),
    "RS256 with another key": (lambda uid: _sign(_claims(uid), "RS256"), "INVALID_TOKEN"),
    "another issuer": (lambda uid: _sign(_claims(uid, iss="evil")), "INVALID_TOKEN"),
    "another audience": (lambda uid: _sign(_claims(uid, aud="other-api")), "INVALID_TOKEN"),
    "no audience": (lambda uid: _sign(_claims(uid, aud=None)), "INVALID_TOKEN"),
    "not valid yet": (
        lambda uid: _sign(_claims(uid, nbf=int(time.time()) + 600)),
        "INVALID_TOKEN",
    ),
    "no nbf": (lambda uid: _sign(_claims(uid, nbf=None)), "INVALID_TOKEN"),
    "expired": (
        lambda uid: _sign(_claims(uid, exp=int(time.time()) - 60)),
        "TOKEN_EXPIRED",
    ),
    "no type": (lambda uid: _sign(_claims(uid, typ=None)), "INVALID_TOKEN"),
    "refresh type": (lambda uid: _sign(_claims(uid, typ="refresh")), "INVALID_TOKEN"),
}


async def test_a_well_formed_token_of_our_own_is_accepted(api):
    from gotong_gql.graphql.ids import parse_global_id

    account = await register(api, "ayu")
    user_id = str(parse_global_id(account.id, "User", "id"))
    response = await api.post("{ me { username } }", token=_sign(_claims(user_id)))
    assert response.json()["data"] == {"me": {"username": "ayu"}}


@pytest.mark.parametrize("case", sorted(FORGERIES))
async def test_forged_and_misused_tokens_are_refused(api, case):
    from gotong_gql.graphql.ids import parse_global_id

    account = await register(api, "ayu")
    forge, reason = FORGERIES[case]
    token = forge(str(parse_global_id(account.id, "User", "id")))
    with api.statements as counter:
        response = await api.post(ME_TASKS, token=token)
    assert counter.count == 0
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}
    me = (await api.post("{ me { id } }", token=token)).json()
    assert me["data"] == {"me": None}
    assert [error["extensions"] for error in me["errors"]] == [
        {"code": "UNAUTHENTICATED", "reason": reason}
    ]


async def test_the_refresh_token_is_not_an_access_token(api):
    account = await register(api, "ayu")
    response = await api.post(ME_TASKS, token=account.refresh_token)
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "INVALID_TOKEN"}


async def test_a_refresh_token_does_not_open_a_websocket(api):
    account = await register(api, "ayu")
    for token, accepted in ((account.refresh_token, False), (account.token, True)):
        async with websocket(api.app) as ws:
            assert ws.accepted
            assert ws.subprotocol == "graphql-transport-ws"
            await ws.send_json(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            )
            if accepted:
                assert (await ws.receive_json())["type"] == "connection_ack"
            else:
                with pytest.raises(WebSocketClosed) as closed:
                    await ws.receive_json()
                assert closed.value.code == 4403
