"""Multiplexed subscriptions over graphql-transport-ws (gotong_gql/graphql/multiplex/), with the
in-process pub/sub and with Redis: one group per operation, one read per visibility class and
event, the same bytes to every member of a class; what each member sees is what its own loop
showed (a stranger never sees evidence or emails); a revoked role counts from the next event, for
that member only; a client that stops reading is closed with 1013 while the others keep
receiving; an idle subscription is small, and stays so however many events it receives."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as redis

from gotong_gql import metrics
from gotong_gql.graphql.multiplex.connection import SLOW_CONSUMER_CODE
from tests.conftest import REDIS_TEST_SERVER
from tests.helpers import Account, create_task, create_user, register
from tests.http.conftest import AsgiWebSocket, WebSocketClosed
from tests.http.conftest import members_joined as _joined
from tests.http.conftest import ws_connect as _connect
from tests.http.task_flow import REVOKE, add_evidence, completed_task

REDIS_URL = f"{REDIS_TEST_SERVER}/11"
UPDATE = """mutation($t: ID!, $title: String!) { taskUpdate(input: {taskId: $t, title: $title})
  { errors { code } } }"""
WATCH = """subscription($t: ID!) { taskUpdated(taskId: $t) { type task { title
  creator { username email } assignee { username email }
  contribution { evidence(first: 5) { edges { node { latitude longitude } } } } } } }"""
TITLE = "subscription($t: ID!) { taskUpdated(taskId: $t) { type task { title } } }"
EVIDENCE = {"edges": [{"node": {"latitude": -7.8, "longitude": 110.37}}]}


@pytest.fixture(params=["in-process", "redis"])
async def mux(request, make_api) -> AsyncIterator[Any]:
    """The app with the in-process pub/sub, or with Redis (its DB emptied: the rate limits of
    the registrations live there too)."""
    if request.param == "in-process":
        yield await make_api()
        return
    connection = redis.Redis.from_url(REDIS_URL)
    await connection.flushdb()
    try:
        yield await make_api(redis_url=REDIS_URL)
    finally:
        await connection.flushdb()
        await connection.aclose()


async def _subscribe(ws: AsgiWebSocket, query: str, task_id: str, id: str = "1") -> None:
    payload = {"query": query, "variables": {"t": task_id}}
    await ws.send_json({"id": id, "type": "subscribe", "payload": payload})


async def _completed_task(api: Any) -> tuple[Account, Account, dict[str, Any], str]:
    siti, budi, task, contribution = await completed_task(api)
    await add_evidence(api, budi, contribution)
    return siti, budi, task, contribution


def _expected(creator_email: bool, assignee_email: bool, evidence: bool) -> dict[str, Any]:
    return {
        "taskUpdated": {
            "type": "UPDATED",
            "task": {
                "title": "Clean the river",
                "creator": {
                    "username": "siti",
                    "email": "siti@example.org" if creator_email else None,
                },
                "assignee": {
                    "username": "budi",
                    "email": "budi@example.org" if assignee_email else None,
                },
                "contribution": {"evidence": EVIDENCE if evidence else None},
            },
        }
    }


def _reads(kind: str) -> float:
    return metrics.SUBSCRIPTION_READS.labels(kind)._value.get()


async def _publish(api: Any, task_id: str) -> None:
    """A task event as the services publish it after a commit (task/service.py)."""
    from strawberry import relay

    node_id = relay.GlobalID.from_id(task_id).node_id
    message = {"type": "UPDATED", "task_id": node_id, "at": datetime.now(UTC).isoformat()}
    await api.services.pubsub.publish(f"task:{node_id}", message)


async def test_one_group_gives_each_visibility_class_its_payload_read_once(mux):
    api = mux
    siti, budi, task, _ = await _completed_task(api)
    others = {
        name: await register(api, name) if role is None else await create_user(api, name, [role])
        for name, role in [("ayu", None), ("dewi", None), ("rahmat", "verifier"), ("root", "admin")]
    }
    viewers = {**others, "budi": budi, "siti": siti}
    async with AsyncExitStack() as stack:
        sockets = {name: await _connect(stack, api, user.token) for name, user in viewers.items()}
        for ws in sockets.values():
            await _subscribe(ws, WATCH, task["id"])
        await _joined(api, len(sockets))
        assert len(api.services.multiplexer.groups) == 1
        class_reads, own_reads = _reads("class"), _reads("own")
        with api.statements:
            await _publish(api, task["id"])
            texts = {name: await ws.receive_text() for name, ws in sockets.items()}
        statements = api.statements.statements[:]

        # One read for the three contributors (budi singled out by the rules: his email, his
        # evidence), then budi, siti, rahmat and root as themselves.
        assert (_reads("class") - class_reads, _reads("own") - own_reads) == (1, 4)
        assert texts["ayu"] == texts["dewi"]  # the same bytes
        payloads = {name: json.loads(text) for name, text in texts.items()}
        assert all(p["id"] == "1" and p["type"] == "next" for p in payloads.values())
        data = {name: p["payload"]["data"] for name, p in payloads.items()}
        assert data["ayu"] == _expected(creator_email=False, assignee_email=False, evidence=False)
        assert data["budi"] == _expected(creator_email=False, assignee_email=True, evidence=True)
        assert data["siti"] == _expected(creator_email=True, assignee_email=False, evidence=True)
        assert data["rahmat"] == _expected(creator_email=False, assignee_email=False, evidence=True)
        assert data["root"] == _expected(creator_email=True, assignee_email=True, evidence=True)

        # The database: the viewers' roles, the task, its creator and assignee, its contribution,
        # whether evidence is visible, the evidence, the rows of the viewers read as themselves:
        # each once, for six subscribers in four classes as for one subscriber.
        assert len(statements) == 7, statements
    async with AsyncExitStack() as stack:
        ws = await _connect(stack, api, budi.token)
        await _subscribe(ws, WATCH, task["id"])
        await _joined(api, 1)
        with api.statements:
            await _publish(api, task["id"])
            assert (await ws.receive_json())["payload"]["data"] == data["budi"]
        assert api.statements.count == 7, api.statements.statements


async def test_the_same_payloads_without_multiplexing(make_api):
    api = await make_api(subscription_multiplexing=False)
    siti, budi, task, _ = await _completed_task(api)
    ayu = await register(api, "ayu")
    async with AsyncExitStack() as stack:
        sockets = {
            name: await _connect(stack, api, viewer.token)
            for name, viewer in {"ayu": ayu, "budi": budi, "siti": siti}.items()
        }
        for ws in sockets.values():
            await _subscribe(ws, WATCH, task["id"])
        await asyncio.sleep(0.3)  # each subscription's own loop waits on its queue
        assert api.services.multiplexer.groups == {}
        await _publish(api, task["id"])
        data = {name: (await ws.receive_json())["payload"]["data"] for name, ws in sockets.items()}
    assert data["ayu"] == _expected(creator_email=False, assignee_email=False, evidence=False)
    assert data["budi"] == _expected(creator_email=False, assignee_email=True, evidence=True)
    assert data["siti"] == _expected(creator_email=True, assignee_email=False, evidence=True)


async def test_a_revoked_role_counts_from_the_next_event_for_that_member_only(mux):
    api = mux
    _, _, task, _ = await _completed_task(api)
    root = await create_user(api, "root", ["admin"])
    rahmat = await create_user(api, "rahmat", ["verifier"])
    wati = await create_user(api, "wati", ["verifier"])
    async with AsyncExitStack() as stack:
        rahmat_ws = await _connect(stack, api, rahmat.token)
        wati_ws = await _connect(stack, api, wati.token)
        for ws in (rahmat_ws, wati_ws):
            await _subscribe(ws, WATCH, task["id"])
        await _joined(api, 2)
        await _publish(api, task["id"])
        first = [(await ws.receive_json())["payload"]["data"] for ws in (rahmat_ws, wati_ws)]
        verifier = _expected(creator_email=False, assignee_email=False, evidence=True)
        assert first == [verifier, verifier]

        revoked = await api.gql(REVOKE, {"u": rahmat.id}, root.token)
        assert revoked["accountRoleRevoke"]["errors"] == []
        await _publish(api, task["id"])
        second = [(await ws.receive_json())["payload"]["data"] for ws in (rahmat_ws, wati_ws)]
        stranger = _expected(creator_email=False, assignee_email=False, evidence=False)
        assert second == [stranger, verifier]


async def test_a_client_that_stops_reading_is_closed_while_the_others_receive(make_api):
    api = await make_api(ws_send_queue_limit=3)
    siti = await create_user(api, "siti", ["organizer"])
    task = await create_task(api, siti, title="Title 0")
    readers = [await register(api, name) for name in ("ayu", "budi")]
    closes = metrics.SUBSCRIPTION_SLOW_CONSUMER_CLOSES._value.get()
    async with AsyncExitStack() as stack:
        fast = [await _connect(stack, api, reader.token) for reader in readers]
        slow = await _connect(stack, api, readers[0].token, unread=1)
        for ws in [*fast, slow]:
            await _subscribe(ws, TITLE, task["id"])
        await _joined(api, 3)
        for number in range(1, 11):
            title = f"Title {number}"
            assert (await api.gql(UPDATE, {"t": task["id"], "title": title}, siti.token))[
                "taskUpdate"
            ]["errors"] == []
            for ws in fast:
                message = await ws.receive_json()
                assert message["payload"]["data"]["taskUpdated"]["task"]["title"] == title
        assert metrics.SUBSCRIPTION_SLOW_CONSUMER_CLOSES._value.get() == closes + 1
        (group,) = api.services.multiplexer.groups.values()
        assert len(group.members) == 2

        # What the slow client had not read, in order, then the close.
        titles = []
        with pytest.raises(WebSocketClosed) as closed:
            while True:
                message = await slow.receive_json()
                titles.append(message["payload"]["data"]["taskUpdated"]["task"]["title"])
        assert closed.value.code == SLOW_CONSUMER_CODE == 1013
        assert titles == [f"Title {number}" for number in range(1, len(titles) + 1)]
        assert 1 <= len(titles) < 10


async def test_memory_of_a_group_does_not_grow_with_its_events(mux):
    api = mux
    siti = await create_user(api, "siti", ["organizer"])
    task = await create_task(api, siti, title="Clean the river")
    users = [await register(api, f"user{number}") for number in range(5)]
    async with AsyncExitStack() as stack:
        sockets = [await _connect(stack, api, user.token) for user in users]
        document = WATCH.replace("evidence(first: 5)", "evidence")  # a nested default
        for ws in sockets:
            for id in ("1", "2"):
                await _subscribe(ws, document, task["id"], id)
        await _joined(api, 10)

        async def events(count: int) -> None:
            for _ in range(count):
                await _publish(api, task["id"])
                for ws in sockets:
                    for _ in ("1", "2"):
                        assert (await ws.receive_json())["type"] == "next"

        tracemalloc.start()
        try:
            await events(50)
            gc.collect()
            before = tracemalloc.take_snapshot()
            await events(300)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
    grown = after.compare_to(before, "filename")
    growth = sum(stat.size_diff for stat in grown)
    # Well under a kilobyte per event (caches warming, the pool's connections): graphql-core's
    # per-executor cache alone used to grow by 3.4 KB per event.
    assert growth < 200 * 1024, [str(stat) for stat in grown[:10]]


async def test_an_idle_subscription_is_small(api):
    siti = await create_user(api, "siti", ["organizer"])
    task = await create_task(api, siti, title="Clean the river")
    ayu = await register(api, "ayu")
    async with AsyncExitStack() as stack:
        sockets = [await _connect(stack, api, ayu.token) for _ in range(5)]
        await _subscribe(sockets[0], TITLE, task["id"], "warm-up")  # the caches of a document
        await _joined(api, 1)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            for ws in sockets:
                for number in range(19):
                    await _subscribe(ws, TITLE, task["id"], str(number))
            await _joined(api, 96)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth / 95 < 4 * 1024, growth / 95


async def test_a_burst_of_subscribes_does_not_hold_up_a_ping(api):
    siti = await create_user(api, "siti", ["organizer"])
    task = await create_task(api, siti, title="Clean the river")
    ayu = await register(api, "ayu")
    async with AsyncExitStack() as stack:
        sockets = [await _connect(stack, api, ayu.token) for _ in range(10)]
        pinger = await _connect(stack, api, ayu.token)
        for ws in sockets:  # 200 subscribes at once, as after a deploy, then a ping
            for number in range(20):
                await _subscribe(ws, TITLE, task["id"], str(number))
        await pinger.send_json({"type": "ping"})
        assert await pinger.receive_json() == {"type": "pong"}
        groups = api.services.multiplexer.groups.values()
        # Answered between the subscribes (a few start per turn of the event loop), not after.
        assert sum(len(group.members) for group in groups) < 200
        await _joined(api, 200)
