"""The compiled path answers the task list with one SQL statement per request, counted at the
driver (every statement the server sends to the database, BEGIN and ROLLBACK included)."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from tests.helpers import create_task, create_user, register

TASK_LIST = """query TaskList { tasks(first: 50) { edges { node { id title status
  creator { username } assignee { username } skills { name } } } } }"""
ASSIGN = """mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})
  { errors { code } } }"""


def compiled_count() -> float:
    return (
        REGISTRY.get_sample_value(
            "gotong_graphql_read_path_total", {"path": "compiled", "reason": ""}
        )
        or 0.0
    )


async def test_task_list_is_one_statement(api):
    organizer = await create_user(api, "org", ["organizer"])
    worker = await register(api, "worker")
    for index in range(60):
        task = await create_task(
            api, organizer, title=f"task {index}", skills=[f"skill-{index % 3}", "common"]
        )
        if index % 2:
            result = await api.gql(ASSIGN, {"t": task["id"], "u": worker.id}, organizer.token)
            assert result["taskAssign"]["errors"] == []
    await asyncio.sleep(0.1)  # asyncpg's query logger reports the writes above soon after
    before = compiled_count()
    with api.statements as counter:
        response = await api.client.post(
            "/graphql",
            json={"query": TASK_LIST, "operationName": "TaskList"},
            headers={"authorization": f"Bearer {worker.token}"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert compiled_count() == before + 1
    assert counter.driver_count == 1, counter.driver_statements
    edges = body["data"]["tasks"]["edges"]
    assert len(edges) == 50
    assert edges[0]["node"]["title"] == "task 59"
    assert edges[0]["node"]["assignee"] == {"username": "worker"}
    assert edges[1]["node"]["assignee"] is None
    assert edges[0]["node"]["creator"] == {"username": "org"}
    assert edges[0]["node"]["skills"] == [{"name": "common"}, {"name": "skill-2"}]
    assert edges[0]["node"]["status"] == "ASSIGNED"
    assert body["extensions"]["cost"]["nodes"] > 0


PROFILE = """query Profile($username: String!) { user(by: {username: $username}) {
  id username bio location createdAt email roles
  skills { proficiency endorsementsCount skill { name } }
  contributions(first: 20) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id title contributionType verificationStatus createdAt
      skills { name } viewerCanVerify viewerCanAddEvidence } } }
  vouchesReceived(first: 20) { edges { node { id weightHint message createdAt
    voucher { username } skill { name } } } } } }"""
TASK_DETAIL = """query TaskDetail($id: ID!) { task(id: $id) {
  id title description status difficulty estimatedHours createdAt completedAt metadata
  creator { username } assignee { username } skills { name } viewerCanStart viewerCanCancel
  assignments(first: 20) { edges { node { status assignedAt completedAt user { username }
    assignedBy { username } } } }
  history(first: 20) { totalCount edges { node { action at after actor { username } } } } } }"""
CONTRIBUTE = """mutation($input: ContributionCreateInput!) { contributionCreate(input: $input)
  { errors { code } } }"""
VOUCH = """mutation($input: VouchCreateInput!) { vouchCreate(input: $input) { errors { code } } }"""


async def both_paths(api, query, variables, token) -> tuple[dict, dict]:
    """The answer of the compiled path (which must answer) and of the executor."""
    settings = api.services.settings
    before = compiled_count()
    compiled = await api.post(query, variables, token)
    assert compiled_count() == before + 1, "the compiled path did not answer"
    object.__setattr__(settings, "graphql_compiled_reads", False)
    try:
        executed = await api.post(query, variables, token)
    finally:
        object.__setattr__(settings, "graphql_compiled_reads", True)
    assert compiled.status_code == executed.status_code == 200
    return compiled.json(), executed.json()


async def test_profile_and_task_detail_answer_as_the_executor(api):
    skills = ["carpentry", "masonry", "plumbing"]
    ayu = await register(api, "ayu")
    await api.gql(
        "mutation($s: [String!]) { accountUpdate(input: {skills: $s}) { errors { code } } }",
        {"s": skills},
        ayu.token,
    )
    for index in range(25):
        data = await api.gql(
            CONTRIBUTE,
            {
                "input": {
                    "contributionType": "COMMUNITY_SERVICE",
                    "title": f"Work {index}",
                    "skills": [skills[index % 3]],
                }
            },
            ayu.token,
        )
        assert data["contributionCreate"]["errors"] == []
    for index in range(4):
        friend = await register(api, f"friend{index}")
        data = await api.gql(
            VOUCH,
            {"input": {"voucheeId": ayu.id, "skill": skills[index % 3], "weightHint": "MODERATE"}},
            friend.token,
        )
        assert data["vouchCreate"]["errors"] == []
    verifier = await create_user(api, "vera", ["verifier"])
    organizer = await create_user(api, "org", ["organizer"])
    task = await create_task(api, organizer, title="Fix the roof", skills=["carpentry"])
    result = await api.gql(ASSIGN, {"t": task["id"], "u": ayu.id}, organizer.token)
    assert result["taskAssign"]["errors"] == []

    for token in (ayu.token, verifier.token, organizer.token):
        compiled, executed = await both_paths(api, PROFILE, {"username": "AYU"}, token)
        assert compiled == executed
        compiled, executed = await both_paths(api, TASK_DETAIL, {"id": task["id"]}, token)
        assert compiled == executed
    user = compiled["data"]["task"]
    assert user["assignments"]["edges"][0]["node"]["user"] == {"username": "ayu"}
    profile, _ = await both_paths(api, PROFILE, {"username": "ayu"}, ayu.token)
    assert profile["data"]["user"]["email"] is not None
    assert len(profile["data"]["user"]["contributions"]["edges"]) == 20
    assert profile["data"]["user"]["contributions"]["pageInfo"]["hasNextPage"] is True
    assert profile["data"]["user"]["contributions"]["totalCount"] == 25
    assert len(profile["data"]["user"]["vouchesReceived"]["edges"]) == 4
    profile, _ = await both_paths(api, PROFILE, {"username": "ayu"}, verifier.token)
    assert profile["data"]["user"]["email"] is None
    for query, variables in ((PROFILE, {"username": "ayu"}), (TASK_DETAIL, {"id": task["id"]})):
        await asyncio.sleep(0.1)  # asyncpg's query logger reports earlier statements late
        with api.statements as counter:
            await api.post(query, variables, ayu.token)
        assert counter.driver_count == 1, counter.driver_statements


NODES = """query Nodes($ids: [ID!]!, $one: ID!) {
  node(id: $one) { __typename id ... on Task { title creator { username } } }
  nodes(ids: $ids) { id __typename ...on User { username } ... on Task { status } } }"""


async def test_node_and_nodes_answer_as_the_executor(api):
    organizer = await create_user(api, "org", ["organizer"])
    task = await create_task(api, organizer, title="Paint the hall")
    ids = [
        task["id"],
        organizer.id,
        "VGFzazpub3QtYS11dWlk",  # base64 "Task:not-a-uuid"
        "bm90IGEgZ2xvYmFsIGlk",  # base64 "not a global id"
        "UGFnZUluZm86eA==",  # base64 "PageInfo:x": not a Node
        "VGFzazowMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDA=",  # a Task that is not
    ]
    compiled, executed = await both_paths(
        api, NODES, {"ids": ids, "one": task["id"]}, organizer.token
    )
    assert compiled == executed
    nodes = compiled["data"]["nodes"]
    assert [node and node["__typename"] for node in nodes] == [
        "Task",
        "User",
        None,
        None,
        None,
        None,
    ]
    assert compiled["data"]["node"]["creator"] == {"username": "org"}
