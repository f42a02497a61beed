"""Real clients with their defaults against one real `gotong-gql serve`: @urql/core (default
exchanges and fetch options; subscriptions over graphql-ws and over Server-Sent Events),
graphql-request, @apollo/client's core with its default HttpLink (each a script,
tests/clients/<client>.mjs, that runs a scenario and prints what the server answered; the
assertions are here), and gql (Python) over httpx and websockets."""

from __future__ import annotations

import asyncio
import json

import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.clients.conftest import Person, Served, graphql, person, run_node

pytestmark = pytest.mark.slow

CREATE = """mutation($input: TaskCreateInput!) { taskCreate(input: $input) {
  task { id } errors { code } } }"""


@pytest.fixture(scope="module")
def people(served: Served) -> dict[str, Person]:
    return {
        "siti": person(served, "siti", "organizer"),
        "budi": person(served, "budi"),
        "dewi": person(served, "dewi"),
    }


def create_task(served: Served, who: Person, title: str) -> str:
    created = graphql(served, CREATE, {"input": {"title": title}}, who)["taskCreate"]
    assert created["errors"] == []
    return created["task"]["id"]


def scenario(served: Served, people: dict[str, Person], **extra: object) -> str:
    return json.dumps(
        {
            "url": f"{served.base}/graphql",
            "ws": f"{served.base.replace('http://', 'ws://')}/graphql",
            **{name: vars(who) for name, who in people.items()},
            **extra,
        }
    )


def untyped(value: object) -> object:
    """An answer without the `__typename`s a normalising cache adds to every selection."""
    if isinstance(value, dict):
        return {key: untyped(item) for key, item in value.items() if key != "__typename"}
    if isinstance(value, list):
        return [untyped(item) for item in value]
    return value


def run(script: str, argument: str) -> dict:
    result = run_node(script, argument)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return untyped(json.loads(result.stdout.strip().splitlines()[-1]))


def test_urql(served, people):
    task_id = create_task(served, people["siti"], "Fix the roof")
    answers = run("urql.mjs", scenario(served, people, taskId=task_id))

    assert answers["me"] == {
        "data": {"me": {"username": "budi", "roles": ["CONTRIBUTOR"]}},
        "errors": [],
        "network": None,
    }
    open_tasks = answers["open"]["data"]["tasks"]
    assert open_tasks["totalCount"] == 1
    assert [edge["node"] for edge in open_tasks["edges"]] == [
        {"id": task_id, "title": "Fix the roof", "viewerCanClaim": True, "viewerCanStart": False}
    ]
    assert answers["claim"] == {
        "data": {
            "taskClaim": {
                "task": {
                    "id": task_id,
                    "status": "ASSIGNED",
                    "assignee": {"username": "budi"},
                    "viewerCanClaim": False,
                    "viewerCanStart": True,
                },
                "errors": [],
            }
        },
        "errors": [],
        "network": None,
    }
    assert answers["claimAgain"]["data"]["taskClaim"] == {
        "task": None,
        "errors": [
            {
                "message": "cannot claim a task that is ASSIGNED",
                "path": ["input", "taskId"],
                "code": "INVALID_TRANSITION",
            }
        ],
    }
    assert answers["anonymous"]["data"] is None
    assert [error["code"] for error in answers["anonymous"]["errors"]] == ["UNAUTHENTICATED"]

    over_ws = answers["overWebSocket"]["taskUpdated"]
    assert over_ws["type"] == "UPDATED"
    assert over_ws["task"]["title"].startswith("Over WebSocket ")
    assert over_ws["task"]["status"] == "ASSIGNED"
    assert over_ws["task"]["assignee"] == {"username": "budi"}
    over_sse = answers["overEventStream"]["taskEvents"]
    assert over_sse["type"] == "UPDATED"
    assert over_sse["task"]["title"].startswith("Over SSE ")


def test_graphql_request(served, people):
    task_id = create_task(served, people["siti"], "Sweep the square")
    answers = run("graphql-request.mjs", scenario(served, people, taskId=task_id))

    assert answers["task"] == {
        "data": {
            "task": {
                "title": "Sweep the square",
                "status": "OPEN",
                "creator": {"username": "siti"},
                "viewerCanUpdate": False,
                "viewerCanClaim": True,
                "viewerCanCancel": False,
            }
        },
        "status": 200,
        "type": "application/graphql-response+json; charset=utf-8",
    }
    assert answers["vouch"] == {
        "vouchCreate": {
            "vouch": {
                "weightHint": "STRONG",
                "message": "She fixed three roofs with us.",
                "voucher": {"username": "budi"},
                "vouchee": {"username": "siti"},
                "skill": {"name": "roof-repair"},
            },
            "errors": [],
        }
    }
    (duplicate,) = answers["again"]["vouchCreate"]["errors"]
    assert answers["again"]["vouchCreate"]["vouch"] is None
    assert (duplicate["code"], duplicate["path"]) == ("DUPLICATE_VOUCH", ["input", "voucheeId"])
    assert answers["lowerCase"] == {
        "status": 400,
        "codes": ["GRAPHQL_VALIDATION_FAILED"],
        "data": None,
    }


def test_apollo_client(served, people):
    titles = {f"Apollo task {n}" for n in range(5)}
    for title in sorted(titles):
        create_task(served, people["siti"], title)
    everything = graphql(served, "{ tasks(first: 100) { totalCount } }", {}, people["siti"])
    total = everything["tasks"]["totalCount"]

    answers = run("apollo.mjs", scenario(served, people))

    before = [title for page in answers["before"] for title in page["titles"]]
    assert {page["totalCount"] for page in answers["before"]} == {total}
    assert all(len(page["titles"]) == 2 for page in answers["before"][:-1])
    assert len(before) == len(set(before)) == total
    assert titles <= set(before)
    created = answers["create"]
    assert created["errors"] == []
    assert created["task"] == {
        "id": created["task"]["id"],
        "title": "Paint the hall",
        "status": "OPEN",
        "viewerCanUpdate": True,
    }
    after = [title for page in answers["after"] for title in page["titles"]]
    assert after == ["Paint the hall", *before]  # newest first
    assert {page["totalCount"] for page in answers["after"]} == {total + 1}
    assert answers["forged"] == [
        {"path": ["tasks"], "extensions": {"code": "BAD_USER_INPUT", "field": "after"}}
    ]


USER = gql("""query($by: UserByInput!) { user(by: $by) {
  username email roles viewerCanVouch tasksCreated(first: 1) { totalCount } } }""")
UPDATE = gql("""mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) {
  user { bio skills { skill { name } proficiency } }
  errors { path ... on AccountError { code } } } }""")
UPDATED = gql("""subscription($id: ID!) { taskUpdated(taskId: $id) {
  type task { title } } }""")
RENAME = gql("""mutation($id: ID!, $title: String!) {
  taskUpdate(input: {taskId: $id, title: $title}) { errors { code } } }""")


async def test_gql_over_httpx_and_websockets(served, people):
    siti, budi = people["siti"], people["budi"]
    task_id = await asyncio.to_thread(create_task, served, siti, "Mend the fence")
    url = f"{served.base}/graphql"

    def http(who):
        return Client(
            transport=HTTPXAsyncTransport(url, headers={"Authorization": f"Bearer {who.token}"})
        )

    async with http(budi) as session:
        found = await session.execute(
            GraphQLRequest(USER, variable_values={"by": {"username": "SITI"}})
        )
        assert found["user"] == {
            "username": "siti",
            "email": None,  # only siti and admins see it
            "roles": ["CONTRIBUTOR", "ORGANIZER"],
            "viewerCanVouch": True,
            "tasksCreated": {"totalCount": found["user"]["tasksCreated"]["totalCount"]},
        }
        assert found["user"]["tasksCreated"]["totalCount"] >= 1
        updated = await session.execute(
            GraphQLRequest(
                UPDATE, variable_values={"input": {"bio": "Carpenter", "skills": ["Carpentry"]}}
            )
        )
        assert updated["accountUpdate"] == {
            "user": {
                "bio": "Carpenter",
                "skills": [{"skill": {"name": "carpentry"}, "proficiency": 0.0}],
            },
            "errors": [],
        }
        refused = await session.execute(
            GraphQLRequest(UPDATE, variable_values={"input": {"bio": "x" * 501}})
        )
        assert refused["accountUpdate"]["user"] is None
        assert refused["accountUpdate"]["errors"] == [
            {"path": ["input", "bio"], "code": "INVALID_INPUT"}
        ]
        with pytest.raises(TransportQueryError) as raised:
            await session.execute(
                GraphQLRequest(USER, variable_values={"by": {"id": "x", "username": "siti"}})
            )
        assert raised.value.errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    transport = WebsocketsTransport(
        url=url.replace("http://", "ws://"),
        init_payload={"authorization": f"Bearer {budi.token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport) as live, http(siti) as organizer:
        events = live.subscribe(GraphQLRequest(UPDATED, variable_values={"id": task_id}))
        first = asyncio.ensure_future(anext(events))
        for round in range(1, 51):  # until the server listens: it subscribes asynchronously
            renamed = await organizer.execute(
                GraphQLRequest(
                    RENAME, variable_values={"id": task_id, "title": f"Mend the gate {round}"}
                )
            )
            assert renamed["taskUpdate"]["errors"] == []
            done, _ = await asyncio.wait({first}, timeout=0.3)
            if done:
                break
        event = (await asyncio.wait_for(first, 15))["taskUpdated"]
        await events.aclose()
    assert event["type"] == "UPDATED"
    assert event["task"]["title"].startswith("Mend the gate ")
