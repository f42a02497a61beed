"""The way a developer meets it: migrate, seed, serve; GraphiQL, login, `me`, a subscription,
a photo uploaded to the URL the server hands out."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from tests.conftest import JWT_SECRET, create_database, drop_database
from tests.e2e.server import cli, serve
from tests.evidence.helpers import CONFIRM, CONTRIBUTE, EVIDENCE, REQUEST, make_jpeg, upload_headers

pytestmark = pytest.mark.slow

LOGIN = """mutation($l: String!, $p: String!) { tokenCreate(input: {login: $l, password: $p})
  { accessToken errors { code } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("server")
    database = create_database(tmp)
    env = {
        "DATABASE_URL": database.url,
        "JWT_SECRET": JWT_SECRET,
        "VAR_DIR": str(tmp / "var"),
        "GOTONG_ENV": "development",
        "PUBLIC_BASE_URL": "",  # unset: object URLs on the address each request was sent to
    }
    for command in (["migrate"], ["seed-demo", "--if-empty"]):
        result = cli(*command, env=env)
        assert result.returncode == 0, result.stderr
    try:
        with serve(env, tmp / "server.log") as base:
            yield base
    finally:
        drop_database(database)


def _gql(base: str, query: str, variables=None, token=None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _token(base: str, login: str) -> str:
    payload = _gql(base, LOGIN, {"l": login, "p": "gotong-demo-password"})["tokenCreate"]
    assert payload["errors"] == []
    return payload["accessToken"]


def test_graphiql_login_and_me(server):
    page = httpx.get(f"{server}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    token = _token(server, "siti@example.org")
    me = _gql(server, "{ me { username roles } }", token=token)["me"]
    assert me == {"username": "siti", "roles": ["CONTRIBUTOR", "ORGANIZER"]}
    tasks = _gql(server, "{ tasks(first: 10) { edges { node { status } } } }", token=token)
    assert sorted(edge["node"]["status"] for edge in tasks["tasks"]["edges"]) == [
        "ASSIGNED",
        "CANCELLED",
        "COMPLETED",
        "IN_PROGRESS",
        "OPEN",
    ]


async def _subscribe(url: str, token: str | None, query: str, variables: dict):
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
    await ws.send(
        json.dumps(
            {
                "type": "connection_init",
                "payload": {"authorization": f"Bearer {token}"} if token else {},
            }
        )
    )
    return ws


def test_the_demo_people_have_credit_accounts(server):
    account = "{ me { creditAccount { balanceMinutes reservedMinutes availableMinutes } } }"
    seen = {
        name: _gql(server, account, token=_token(server, name))["me"]["creditAccount"]
        for name in ("siti", "budi", "dewi")
    }
    # siti's three assigned tasks of 4 hours each are reserved; budi thanked dewi for a lesson.
    assert seen == {
        "siti": {"balanceMinutes": 0, "reservedMinutes": 720, "availableMinutes": 480},
        "budi": {"balanceMinutes": -30, "reservedMinutes": 0, "availableMinutes": 1170},
        "dewi": {"balanceMinutes": 30, "reservedMinutes": 0, "availableMinutes": 1230},
    }


async def test_task_updated_subscription(server):
    siti = _token(server, "siti")
    budi_id = _gql(server, '{ user(by: {username: "budi"}) { id } }', token=siti)["user"]["id"]
    task = _gql(
        server, 'mutation { taskCreate(input: {title: "Live one"}) { task { id } } }', token=siti
    )["taskCreate"]["task"]
    url = server.replace("http", "ws") + "/graphql"
    ws = await _subscribe(url, siti, "", {})
    try:
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription($id: ID!) { taskUpdated(taskId: $id)"
                        " { type task { status assignee { username } } } }",
                        "variables": {"id": task["id"]},
                    },
                }
            )
        )
        await asyncio.sleep(0.3)  # the subscription is registered before the change
        await asyncio.to_thread(
            _gql,
            server,
            "mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t,"
            " assigneeId: $u}) { errors { code } } }",
            {"t": task["id"], "u": budi_id},
            siti,
        )
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        assert message == {
            "id": "1",
            "type": "next",
            "payload": {
                "data": {
                    "taskUpdated": {
                        "type": "ASSIGNED",
                        "task": {"status": "ASSIGNED", "assignee": {"username": "budi"}},
                    }
                }
            },
        }
    finally:
        await ws.close()


async def test_websocket_with_a_bad_token_is_closed_4403(server):
    url = server.replace("http", "ws") + "/graphql"
    ws = await _subscribe(url, "not-a-token", "", {})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=10)
    assert closed.value.rcvd.code == 4403


def test_an_upload_goes_to_the_port_the_server_listens_on(server):
    """The embedded default (local store, no PUBLIC_BASE_URL) on a free port: the presigned URL
    names that port (it named 127.0.0.1:8000 whatever the port), the PUT lands, confirm works."""
    budi = _token(server, "budi")
    contribution = _gql(server, CONTRIBUTE, token=budi)["contributionCreate"]["contribution"]
    captured = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    photo = make_jpeg(captured=captured)
    variables = {
        "input": {
            "contributionId": contribution["id"],
            "evidenceType": "PHOTO_WITH_TIMESTAMP",
            "contentType": "image/jpeg",
            "sizeBytes": len(photo),
            "timestamp": captured.isoformat(),
        }
    }
    requested = _gql(server, REQUEST, variables, token=budi)["evidenceUploadRequest"]
    assert requested["errors"] == []
    upload = requested["upload"]
    assert urlsplit(upload["url"]).netloc == urlsplit(server).netloc
    put = httpx.put(upload["url"], content=photo, headers=upload_headers(upload), timeout=10)
    assert put.status_code == 201, put.text
    evidence_id = requested["evidence"]["id"]
    confirmed = _gql(server, CONFIRM, {"id": evidence_id}, token=budi)["evidenceUploadConfirm"]
    assert confirmed["errors"] == []
    assert confirmed["evidence"]["status"] == "PROCESSING"
    deadline = time.monotonic() + 20
    while (evidence := _gql(server, EVIDENCE, {"id": evidence_id}, token=budi)["evidence"])[
        "status"
    ] == "PROCESSING":
        assert time.monotonic() < deadline, "the evidence was not processed"
        time.sleep(0.1)
    assert evidence["status"] == "VERIFIED", evidence["rejectionReason"]
    assert urlsplit(evidence["fileUrl"]).netloc == urlsplit(server).netloc
    assert httpx.get(evidence["fileUrl"], timeout=10).content == photo
