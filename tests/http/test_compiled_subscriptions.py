"""Subscription events read by a compiled plan (gotong_gql/compiler/subscriptions.py): a task
selection that reads nothing of the viewer is one statement per event for a whole group, every
member gets the same bytes, and the answer is the executor's; anything that depends on the viewer
stays with the executor's reader, per class."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

import pytest

from gotong_gql import metrics
from tests.conftest import truncate_all
from tests.helpers import create_task, create_user, register
from tests.http.conftest import members_joined as _joined
from tests.http.conftest import ws_connect as _connect

UPDATE = """mutation($t: ID!, $title: String!) { taskUpdate(input: {taskId: $t, title: $title})
  { errors { code } } }"""
ASSIGN = """mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})
  { errors { code } } }"""
# Aliases, a fragment, a directive with a variable, __typename, nested objects and a list.
PUBLIC = """subscription Watch($t: ID!, $withSkills: Boolean!) { taskUpdated(taskId: $t) {
  __typename kind: type
  task { ...Card skills @include(if: $withSkills) { name } }
  again: task { title } } }
fragment Card on Task { id title status creator { username } assignee { username } }"""
# The creator's and assignee's emails: only some viewers see them.
PRIVATE = """subscription($t: ID!) { taskUpdated(taskId: $t) { type task { title
  creator { username email } } } }"""


def _reads(kind: str) -> float:
    return metrics.SUBSCRIPTION_READS.labels(kind)._value.get()


async def _group(api: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    siti = await create_user(api, "siti", ["organizer"])
    budi = await register(api, "budi")
    task = await create_task(api, siti, title="Clean the river", skills=["cleaning"])
    assert (await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token))["taskAssign"][
        "errors"
    ] == []
    viewers = {
        "siti": siti,
        "budi": budi,
        "ayu": await register(api, "ayu"),
        "dewi": await register(api, "dewi"),
        "rahmat": await create_user(api, "rahmat", ["verifier"]),
        "root": await create_user(api, "root", ["admin"]),
    }
    return task, viewers, siti


async def _one_event(api: Any, query: str, variables: dict[str, Any]) -> dict[str, str]:
    """Every viewer subscribes to `query`; the creator renames the task; the texts received."""
    task, viewers, siti = await _group(api)
    async with AsyncExitStack() as stack:
        sockets = {name: await _connect(stack, api, user.token) for name, user in viewers.items()}
        for ws in sockets.values():
            payload = {"query": query, "variables": {"t": task["id"], **variables}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        await _joined(api, len(sockets))
        assert len(api.services.multiplexer.groups) == 1
        renamed = await api.gql(UPDATE, {"t": task["id"], "title": "Clean the canal"}, siti.token)
        assert renamed["taskUpdate"]["errors"] == []
        return {name: await ws.receive_text() for name, ws in sockets.items()}


def _data(text: str) -> dict[str, Any]:
    message = json.loads(text)
    assert (message["id"], message["type"]) == ("1", "next")
    return message["payload"]["data"]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "executor"])
async def test_a_public_selection_is_read_once_per_event_for_every_class(make_api, compiled):
    api = await make_api(graphql_compiled_reads=compiled)
    before = {kind: _reads(kind) for kind in ("compiled", "class", "own")}
    texts = await _one_event(api, PUBLIC, {"withSkills": True})
    reads = {kind: _reads(kind) - before[kind] for kind in before}

    data = {name: _data(text) for name, text in texts.items()}
    assert all(value == data["ayu"] for value in data.values())
    event_data = data["ayu"]["taskUpdated"]
    task = event_data["task"]
    assert event_data["__typename"] == "TaskEvent"
    assert event_data["kind"] == "UPDATED"
    assert {key: task[key] for key in ("title", "status")} == {
        "title": "Clean the canal",
        "status": "ASSIGNED",
    }
    assert (task["creator"], task["assignee"]) == ({"username": "siti"}, {"username": "budi"})
    assert task["skills"] == [{"name": "cleaning"}]
    assert event_data["again"] == {"title": "Clean the canal"}
    assert list(event_data) == ["__typename", "kind", "task", "again"]
    assert list(task) == ["id", "title", "status", "creator", "assignee", "skills"]
    if compiled:
        # One compiled read for the four classes (contributors, organizer, verifier, admin),
        # none by the executor; every member gets the same bytes.
        assert reads == {"compiled": 1, "class": 0, "own": 0}
        assert len(set(texts.values())) == 1
    else:
        assert reads["compiled"] == 0 and reads["class"] + reads["own"] >= 4


async def test_the_compiled_event_is_the_executors(make_api):
    """The same subscription and event on both readers: equal payloads (`at` aside: the
    events happen at different times, and its format is checked)."""
    answers = []
    for compiled in (True, False):
        api = await make_api(graphql_compiled_reads=compiled)
        texts = await _one_event(api, PUBLIC, {"withSkills": False})
        data = _data(texts["ayu"])
        answers.append(data)
        await truncate_all(api.services.engine)
    compiled_answer, executor_answer = answers
    assert "skills" not in compiled_answer["taskUpdated"]["task"]
    # Global ids differ between the runs (new rows): compare everything else.
    for answer in answers:
        answer["taskUpdated"]["task"].pop("id")
    assert compiled_answer == executor_answer


async def test_a_selection_that_depends_on_the_viewer_stays_with_the_executor(make_api):
    api = await make_api(graphql_compiled_reads=True)
    before = {kind: _reads(kind) for kind in ("compiled", "class", "own")}
    texts = await _one_event(api, PRIVATE, {})
    reads = {kind: _reads(kind) - before[kind] for kind in before}
    assert reads["compiled"] == 0 and reads["class"] + reads["own"] >= 4
    emails = {
        name: _data(text)["taskUpdated"]["task"]["creator"]["email"] for name, text in texts.items()
    }
    assert emails == {
        "siti": "siti@example.org",
        "budi": None,
        "ayu": None,
        "dewi": None,
        "rahmat": None,
        "root": "siti@example.org",
    }
