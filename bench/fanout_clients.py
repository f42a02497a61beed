"""The clients of bench/subscriptions_fanout.py: the organizer and the contributor over HTTP, and
the subscribers: graphql-transport-ws connections (the `websockets` client) and what each
subscription received, when, in which order."""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from harness.base import BenchError, log
from harness.gql import GraphQLClient
from harness.memory import vm_rss_kb
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gotong_gql.graphql.view import MAX_SUBSCRIPTIONS_PER_CONNECTION

SUBSCRIPTION = "subscription($id: ID!) { taskUpdated(taskId: $id) { type at task { id title } } }"
PASSWORD = "fan-out bench password"
ORGANIZER = "bench_organizer"
CONTRIBUTOR = "bench_contributor"
TASK_CREATE = (
    "mutation($t: String!) { taskCreate(input: {title: $t})"
    " { task { id } errors { code message } } }"
)
TASK_UPDATE = (
    "mutation($id: ID!, $title: String!) { taskUpdate(input: {taskId: $id, title: $title})"
    " { task { id title } errors { code message } } }"
)


def sign_in(
    organizer: GraphQLClient, contributor: GraphQLClient, title: str, register: bool
) -> tuple[str, str]:
    """Signs both in (registering the contributor first if asked) and creates the task; the
    task's id and the contributor's token."""
    organizer.login(ORGANIZER, PASSWORD)
    if register:
        contributor.register(CONTRIBUTOR, PASSWORD)
    token = contributor.login(CONTRIBUTOR, PASSWORD)
    task = organizer.payload("taskCreate", TASK_CREATE, {"t": title})["task"]
    return task["id"], token


def connection_count(subscriptions: int) -> int:
    return math.ceil(subscriptions / MAX_SUBSCRIPTIONS_PER_CONNECTION)


@dataclass
class Tracker:
    """Which event each subscription received, in arrival order, and when each arrived."""

    task_id: str
    subscriptions: int
    titles: dict[str, int] = field(default_factory=dict)  # title -> event index
    received: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    arrivals: list[list[float]] = field(default_factory=list)  # per event: perf_counter()s
    complete: list[asyncio.Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failed: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False

    def expect(self, title: str) -> int:
        index = len(self.arrivals)
        self.titles[title] = index
        self.arrivals.append([])
        self.complete.append(asyncio.Event())
        return index

    async def delivered(self, event: int) -> list[float]:
        """Waits until every subscriber received `event` (or something went wrong); their
        arrival times, sorted. The caller bounds the wait."""
        done = asyncio.create_task(self.complete[event].wait())
        failed = asyncio.create_task(self.failed.wait())
        try:
            await asyncio.wait({done, failed}, return_when="FIRST_COMPLETED")
        finally:
            done.cancel()
            failed.cancel()
        if self.failed.is_set():
            raise BenchError(f"event {event}: {self.problems}")
        return sorted(self.arrivals[event])

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)
        self.failed.set()

    def on_message(self, connection: int, raw: str | bytes, at: float) -> bool:
        """Records a message; True for a graphql-transport-ws `ping` (to be answered)."""
        message = json.loads(raw)
        kind, key = message.get("type"), (connection, message.get("id"))
        if kind == "ping":
            return True
        if kind != "next" or key not in self.received:
            self.problem(f"connection {connection}: unexpected message {str(message)[:300]}")
            return False
        payload = message.get("payload") or {}
        event = (payload.get("data") or {}).get("taskUpdated")
        if payload.get("errors") or not event:
            self.problem(f"subscription {key}: {str(payload)[:300]}")
            return False
        index = self.titles.get(event["task"]["title"])
        if event["type"] != "UPDATED" or event["task"]["id"] != self.task_id or index is None:
            self.problem(f"subscription {key}: unexpected event {event}")
            return False
        self.received[key].append(index)
        arrivals = self.arrivals[index]
        arrivals.append(at)
        if len(arrivals) == self.subscriptions:
            self.complete[index].set()
        elif len(arrivals) > self.subscriptions:
            self.problem(f"event {index} arrived {len(arrivals)} times")
        return False

    def check_exactly_once_in_order(self) -> None:
        expected = list(range(len(self.arrivals)))
        wrong = {key: got for key, got in self.received.items() if got != expected}
        if wrong:
            key, got = next(iter(wrong.items()))
            raise BenchError(
                f"{len(wrong)} of {len(self.received)} subscriptions did not receive every event"
                f" exactly once in order; e.g. {key} got {got[:50]}, expected {expected}"
            )


async def read(ws: ClientConnection, connection: int, tracker: Tracker) -> None:
    try:
        async for raw in ws:
            if tracker.on_message(connection, raw, time.perf_counter()):
                await ws.send(json.dumps({"type": "pong"}))
    except ConnectionClosed as exc:
        if not tracker.closing:
            tracker.problem(f"connection {connection} closed: {exc}")
    except Exception as exc:  # a reader must not die silently
        tracker.problem(f"connection {connection}: {exc!r}")


async def open_connection(url: str, token: str) -> ClientConnection:
    ws = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30)
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
    if ack.get("type") != "connection_ack":
        raise BenchError(f"connection_init answered with {ack}")
    return ws


async def subscribe_all(sockets: list[ClientConnection], tracker: Tracker, count: int) -> None:
    """`count` subscriptions on the task, MAX_SUBSCRIPTIONS_PER_CONNECTION per connection."""
    remaining = count
    for index, ws in enumerate(sockets):
        for number in range(min(remaining, MAX_SUBSCRIPTIONS_PER_CONNECTION)):
            tracker.received[(index, str(number))] = []
            message = {
                "id": str(number),
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"id": tracker.task_id}},
            }
            await ws.send(json.dumps(message))
            remaining -= 1


async def soak(
    name: str, events: int, mutate: Any, tracker: Tracker, pid: int, event_timeout: float
) -> list[dict[str, Any]]:
    """`events` more title changes, back to back (each once every subscriber received the one
    before): what the memory of idle subscriptions does after many events. The server's RSS
    every 100 events."""
    samples = []
    for index in range(events):
        event = tracker.expect(f"Soak {name} #{index:05d}")
        await asyncio.to_thread(mutate, f"Soak {name} #{index:05d}")
        try:
            await asyncio.wait_for(tracker.delivered(event), event_timeout)
        except TimeoutError:
            raise BenchError(
                f"soak event {index}: {len(tracker.arrivals[event])} of {tracker.subscriptions}"
                f" subscribers received it within {event_timeout:g} s"
            ) from None
        if (index + 1) % 100 == 0 or index + 1 == events:
            samples.append({"events": index + 1, "server_rss_kb": vm_rss_kb(pid)})
            log(f"{name} soak: {index + 1} events, server RSS {samples[-1]['server_rss_kb']} kB")
    return samples


def server_metrics(base_url: str) -> dict[str, float]:
    """The server's gotong_subscription_* series (/metrics: served without a token outside
    production), summed over labels except `viewer`."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("gotong_subscription"):
            continue
        name, _, value = line.rpartition(" ")
        if "_bucket{" in name or name.endswith("_created"):
            continue
        found[name] = found.get(name, 0.0) + float(value)
    return found
