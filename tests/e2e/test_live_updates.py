"""Live task updates across processes: two API processes and a worker share PostgreSQL and
Redis; a subscriber on process A sees, in order, what happens through process B."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import redis
import websockets
from gql import Client, GraphQLRequest, gql
from gql.transport.websockets import WebsocketsTransport
from strawberry import relay

from gotong_gql.graphql.view import MAX_SUBSCRIPTIONS_PER_CONNECTION
from gotong_gql.security import TokenCodec
from gotong_gql.settings import Settings
from tests.conftest import JWT_SECRET, REDIS_TEST_SERVER, create_database, drop_database
from tests.e2e.processes import start_worker
from tests.e2e.server import cli, serve
from tests.evidence.helpers import CONFIRM, REQUEST, make_jpeg, upload_headers

pytestmark = pytest.mark.slow
REDIS_URL = f"{REDIS_TEST_SERVER}/13"
PASSWORD = "correct horse battery"
SUBSCRIPTION = gql("""subscription($id: ID!) { taskUpdated(taskId: $id) {
  type task { status assignee { username } viewerCanStart viewerCanComplete } } }""")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    database = create_database(tmp)
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        "DATABASE_URL": database.url,
        "JWT_SECRET": JWT_SECRET,
        "REDIS_URL": REDIS_URL,
        "VAR_DIR": str(tmp / "var"),
        "GOTONG_ENV": "development",
    }
    assert cli("migrate", env=env).returncode == 0
    made = cli(
        "user",
        "create",
        "--username",
        "siti",
        "--email",
        "siti@example.org",
        "--password",
        PASSWORD,
        "--role",
        "organizer",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    with ExitStack() as stack:
        a = stack.enter_context(serve(env, tmp / "a.log"))
        b = stack.enter_context(serve(env, tmp / "b.log"))
        worker = start_worker(env, tmp / "worker.log")
        stack.callback(worker.stop)
        yield {"a": a, "b": b}
    drop_database(database)


def _gql(base, query, variables=None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=10,
    ).json()
    assert "errors" not in body, body
    return body["data"]


def _login(base, login):
    data = _gql(
        base,
        """mutation($l: String!, $p: String!) { tokenCreate(input:
      {login: $l, password: $p}) { accessToken user { id } } }""",
        {"l": login, "p": PASSWORD},
    )
    return data["tokenCreate"]["accessToken"], data["tokenCreate"]["user"]["id"]


def _register(base, username):
    _gql(
        base,
        """mutation($u: String!, $e: String!, $p: String!) { accountRegister(input:
      {username: $u, email: $e, password: $p}) { errors { code } } }""",
        {"u": username, "e": f"{username}@example.org", "p": PASSWORD},
    )
    return _login(base, username)


def _ws(base):
    return base.replace("http://", "ws://") + "/graphql"


async def test_a_subscriber_on_a_sees_changes_made_through_b_in_order(cluster):
    """Assigned, started, completed (which creates the contribution), then its photo verified
    by the worker: evidence belongs to the contribution that completing the task creates."""
    a, b = cluster["a"], cluster["b"]
    siti, _ = await asyncio.to_thread(_login, b, "siti")
    budi_name = f"budi{uuid.uuid4().hex[:6]}"
    budi, budi_id = await asyncio.to_thread(_register, b, budi_name)
    task = (
        await asyncio.to_thread(
            _gql, b, 'mutation { taskCreate(input: {title: "Live"}) { task { id } } }', None, siti
        )
    )["taskCreate"]["task"]["id"]
    transport = WebsocketsTransport(
        url=_ws(a),
        init_payload={"authorization": f"Bearer {budi}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    received: list[dict] = []

    async def listen(session):
        request = GraphQLRequest(SUBSCRIPTION, variable_values={"id": task})
        async for result in session.subscribe(request):
            received.append(result["taskUpdated"])
            if len(received) == 4:
                return

    async with Client(transport=transport) as session:
        listener = asyncio.create_task(listen(session))
        await asyncio.sleep(0.5)  # subscribed before the changes
        steps = [
            (
                "mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})"
                " { errors { code } } }",
                {"t": task, "u": budi_id},
                siti,
                [],
            ),
            # Refused (siti is not the assignee): publishes nothing.
            (
                "mutation($t: ID!) { taskStart(input: {taskId: $t}) { errors { code } } }",
                {"t": task},
                siti,
                [{"code": "FORBIDDEN"}],
            ),
            (
                "mutation($t: ID!) { taskStart(input: {taskId: $t}) { errors { code } } }",
                {"t": task},
                budi,
                [],
            ),
            (
                "mutation($t: ID!) { taskComplete(input: {taskId: $t}) { errors { code } } }",
                {"t": task},
                budi,
                [],
            ),
        ]
        for document, variables, token, errors in steps:
            data = await asyncio.to_thread(_gql, b, document, variables, token)
            assert next(iter(data.values()))["errors"] == errors
        contribution = (
            await asyncio.to_thread(
                _gql,
                b,
                "query($t: ID!) { task(id: $t) { contribution { id } } }",
                {"t": task},
                budi,
            )
        )["task"]["contribution"]["id"]
        await asyncio.to_thread(_upload_photo, b, budi, contribution)
        await asyncio.wait_for(listener, timeout=30)
    assignee = {"username": budi_name}
    # What the subscriber (the assignee) may do next is answered afresh with every event.
    assert received == [
        {"type": "ASSIGNED", "task": _seen("ASSIGNED", assignee, start=True)},
        {"type": "STARTED", "task": _seen("IN_PROGRESS", assignee, complete=True)},
        {"type": "COMPLETED", "task": _seen("COMPLETED", assignee)},
        {"type": "EVIDENCE_ADDED", "task": _seen("COMPLETED", assignee)},
    ]


def _seen(status: str, assignee: dict, start: bool = False, complete: bool = False) -> dict:
    return {
        "status": status,
        "assignee": assignee,
        "viewerCanStart": start,
        "viewerCanComplete": complete,
    }


def _upload_photo(base: str, token: str, contribution_id: str) -> str:
    """A real photo, uploaded to B's signed URL and confirmed; the worker hashes it."""
    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    photo = make_jpeg(captured=captured)
    requested = _gql(
        base,
        REQUEST,
        {
            "input": {
                "contributionId": contribution_id,
                "evidenceType": "PHOTO_WITH_TIMESTAMP",
                "contentType": "image/jpeg",
                "sizeBytes": len(photo),
                "timestamp": captured.isoformat(),
            }
        },
        token,
    )["evidenceUploadRequest"]
    assert requested["errors"] == []
    parts = urlsplit(requested["upload"]["url"])  # the signature covers the path, not the host
    put = httpx.put(
        f"{base}{parts.path}?{parts.query}",
        content=photo,
        headers=upload_headers(requested["upload"]),
        timeout=10,
    )
    assert put.status_code == 201, put.text
    evidence_id = requested["evidence"]["id"]
    confirmed = _gql(base, CONFIRM, {"id": evidence_id}, token)["evidenceUploadConfirm"]
    assert confirmed["errors"] == []
    return evidence_id


EVIDENCE_SUBSCRIPTION = """subscription($c: ID!) { evidenceUpdated(contributionId: $c) {
  status evidence { mediaHash } } }"""


async def test_evidence_updates_reach_the_contributor_and_nobody_else(cluster):
    a, b = cluster["a"], cluster["b"]
    owner, _ = await asyncio.to_thread(_register, b, f"ayu{uuid.uuid4().hex[:6]}")
    stranger, _ = await asyncio.to_thread(_register, b, f"dewi{uuid.uuid4().hex[:6]}")
    contribution = (
        await asyncio.to_thread(
            _gql,
            b,
            """mutation { contributionCreate(input:
      {contributionType: CUSTOM, title: "Photo"}) { contribution { id } } }""",
            None,
            owner,
        )
    )["contributionCreate"]["contribution"]["id"]
    subscribe = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": EVIDENCE_SUBSCRIPTION, "variables": {"c": contribution}},
    }

    outsider = await _raw(a, token=stranger)
    await outsider.send(json.dumps(subscribe))
    refused = json.loads(await asyncio.wait_for(outsider.recv(), timeout=10))
    assert refused["type"] in ("error", "next")
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    await outsider.close()

    ws = await _raw(a, token=owner)
    await ws.send(json.dumps(subscribe))
    await asyncio.sleep(0.5)
    await asyncio.to_thread(_upload_photo, b, owner, contribution)
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
    assert message["type"] == "next"
    update = message["payload"]["data"]["evidenceUpdated"]
    assert update["status"] == "VERIFIED"
    assert len(update["evidence"]["mediaHash"]) == 64
    await ws.close()


async def _raw(base, init=True, token=None):
    ws = await websockets.connect(_ws(base), subprotocols=["graphql-transport-ws"])
    if init:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
    return ws


async def _closed_with(ws) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=15)
    return closed.value.rcvd.code


async def test_no_connection_init_is_closed_4408(cluster):
    ws = await _raw(cluster["a"], init=False)
    assert await _closed_with(ws) == 4408


async def test_duplicate_subscription_id_is_closed_4409(cluster):
    token, _ = await asyncio.to_thread(_login, cluster["a"], "siti")
    ws = await _raw(cluster["a"], token=token)
    subscribe = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": "subscription { taskEvents { type } }"},
    }
    await ws.send(json.dumps(subscribe))
    await ws.send(json.dumps(subscribe))
    assert await _closed_with(ws) == 4409


async def test_subscriptions_end_when_the_token_expires(cluster):
    _, user_id = await asyncio.to_thread(_login, cluster["a"], "siti")
    settings = Settings(jwt_secret=JWT_SECRET)
    lifetime = settings.access_token_ttl_seconds
    node_id = uuid.UUID(relay.GlobalID.from_id(user_id).node_id)
    # A token with two seconds left.
    short = (
        TokenCodec(settings)
        .issue(node_id, "access", now=datetime.now(UTC) - timedelta(seconds=lifetime - 2))
        .token
    )
    ws = await _raw(cluster["a"], token=short)
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": "subscription { taskEvents { type } }"},
            }
        )
    )
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    assert message["id"] == "1"
    assert message["type"] in ("next", "error")
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"] == {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}
    await ws.close()


async def test_ping_is_answered_with_pong(cluster):
    token, _ = await asyncio.to_thread(_login, cluster["a"], "siti")
    ws = await _raw(cluster["a"], token=token)
    await ws.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), timeout=5)) == {"type": "pong"}
    await ws.close()


async def test_subscriptions_per_connection_are_capped(cluster):
    token, _ = await asyncio.to_thread(_login, cluster["a"], "siti")
    ws = await _raw(cluster["a"], token=token)
    for index in range(MAX_SUBSCRIPTIONS_PER_CONNECTION + 1):
        await ws.send(
            json.dumps(
                {
                    "id": str(index),
                    "type": "subscribe",
                    "payload": {"query": "subscription { taskEvents { type } }"},
                }
            )
        )
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    assert message["type"] == "error"
    assert message["id"] == str(MAX_SUBSCRIPTIONS_PER_CONNECTION)
    await ws.close()


async def test_websocket_origins_come_from_the_allow_list(cluster):
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            _ws(cluster["a"]), subprotocols=["graphql-transport-ws"], origin="https://evil.example"
        )
    assert refused.value.response.status_code == 403


async def test_server_sent_events_for_clients_without_websockets(cluster):
    a, b = cluster["a"], cluster["b"]
    siti, _ = await asyncio.to_thread(_login, b, "siti")
    _, dewi_id = await asyncio.to_thread(_register, b, f"dewi{uuid.uuid4().hex[:6]}")
    task = (
        await asyncio.to_thread(
            _gql,
            b,
            'mutation { taskCreate(input: {title: "Over SSE"}) { task { id } } }',
            None,
            siti,
        )
    )["taskCreate"]["task"]["id"]
    body = {
        "query": "subscription($id: ID!) { taskUpdated(taskId: $id) { type task { status } } }",
        "variables": {"id": task},
    }
    # urql's default Accept: a subscription that accepts a stream gets one.
    headers = {
        "Accept": "application/graphql-response+json, application/json, text/event-stream",
        "Authorization": f"Bearer {siti}",
    }
    async with (
        httpx.AsyncClient(timeout=20) as client,
        client.stream("POST", f"{a}/graphql", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")

        async def assign_soon():
            await asyncio.sleep(0.5)
            await asyncio.to_thread(
                _gql,
                b,
                "mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t,"
                " assigneeId: $u}) { errors { code } } }",
                {"t": task, "u": dewi_id},
                siti,
            )

        assigning = asyncio.create_task(assign_soon())
        lines = []
        async for line in response.aiter_lines():
            lines.append(line)
            if line.startswith("data: {"):
                break
        await assigning
    assert lines[-2:] == [
        "event: next",
        'data: {"data": {"taskUpdated": {"type": "ASSIGNED", "task": {"status": "ASSIGNED"}}}}',
    ]

    one_result = httpx.post(
        f"{a}/graphql",
        json={"query": "{ me { username } }"},
        headers={"Accept": "text/event-stream", "Authorization": f"Bearer {siti}"},
        timeout=10,
    )
    assert one_result.status_code == 200
    assert one_result.headers["content-type"].startswith("text/event-stream")
    events = [event.splitlines() for event in one_result.text.split("\n\n") if event]
    assert [lines[0] for lines in events] == ["event: next", "event: complete"]
    assert json.loads(events[0][1].removeprefix("data: "))["data"] == {"me": {"username": "siti"}}
    without_token = httpx.post(
        f"{a}/graphql", json=body, headers={"Accept": "text/event-stream"}, timeout=10
    )
    assert "UNAUTHENTICATED" in without_token.text
