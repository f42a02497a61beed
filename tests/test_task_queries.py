from __future__ import annotations

import pytest

from tests.helpers import create_task, create_user, register

TASKS = """
query($first: Int!, $after: String, $filter: TaskFilterInput, $orderBy: TaskOrderInput) {
  tasks(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { cursor node { title } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""

# Yogyakarta, 4 km away in Sleman, Jakarta (~430 km), and one without a place.
PLACES = [
    ("River cleanup", -7.7956, 110.3695, ["cleanup"]),
    ("Sleman school garden", -7.7600, 110.3800, ["planting", "teaching"]),
    ("Jakarta canal", -6.2088, 106.8456, ["cleanup"]),
    ("Online bookkeeping lesson", None, None, ["teaching"]),
]


def titles(data):
    return [edge["node"]["title"] for edge in data["tasks"]["edges"]]


@pytest.fixture
async def world(api):
    siti = await create_user(api, "siti", ["organizer"])
    agus = await create_user(api, "agus", ["organizer"])
    budi = await register(api, "budi")
    for index, (title, lat, lon, skills) in enumerate(PLACES):
        await create_task(
            api,
            siti if index < 3 else agus,
            title=title,
            latitude=lat,
            longitude=lon,
            skills=skills,
            estimatedHours=index + 1,
        )
    return {"siti": siti, "agus": agus, "budi": budi}


async def test_filters(api, world):
    token = world["budi"].token

    async def run(filter_, order=None):
        return titles(
            await api.gql(TASKS, {"first": 10, "filter": filter_, "orderBy": order}, token)
        )

    assert await run(None) == [p[0] for p in reversed(PLACES)]
    assert await run({"skills": ["Cleanup"]}) == ["Jakarta canal", "River cleanup"]
    assert await run({"skills": ["teaching", "planting"]}) == [
        "Online bookkeeping lesson",
        "Sleman school garden",
    ]
    assert await run({"creatorId": world["agus"].id}) == ["Online bookkeeping lesson"]
    assert await run({"search": "GARDEN"}) == ["Sleman school garden"]
    assert await run({"status": ["ASSIGNED"]}) == []
    near = {"latitude": -7.7956, "longitude": 110.3695, "radiusKm": 10}
    assert await run({"near": near}, {"field": "DISTANCE", "direction": "ASC"}) == [
        "River cleanup",
        "Sleman school garden",
    ]
    assert await run({"near": {**near, "radiusKm": 1}}) == ["River cleanup"]
    assert await run(
        {"near": {**near, "radiusKm": 500}}, {"field": "DISTANCE", "direction": "ASC"}
    ) == ["River cleanup", "Sleman school garden", "Jakarta canal"]
    assert await run(None, {"field": "TITLE", "direction": "ASC"}) == sorted(p[0] for p in PLACES)
    assert await run(None, {"field": "ESTIMATED_HOURS", "direction": "DESC"}) == [
        p[0] for p in reversed(PLACES)
    ]


async def test_pagination(api, world):
    token = world["budi"].token
    first = await api.gql(TASKS, {"first": 3}, token)
    assert first["tasks"]["pageInfo"]["hasNextPage"] is True
    assert first["tasks"]["pageInfo"]["hasPreviousPage"] is False
    rest = await api.gql(
        TASKS, {"first": 3, "after": first["tasks"]["pageInfo"]["endCursor"]}, token
    )
    assert titles(first) + titles(rest) == [p[0] for p in reversed(PLACES)]
    assert rest["tasks"]["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["tasks"]["edges"][-1]["cursor"],
    }


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 101}, "first"),
        ({"first": 0}, "first"),
        ({"first": 5, "after": "bm90IGEgY3Vyc29y"}, "after"),
        ({"first": 5, "orderBy": {"field": "DISTANCE"}}, "orderBy.field"),
    ],
)
async def test_bad_arguments_are_top_level_errors(api, world, variables, field):
    response = await api.post(TASKS, variables, world["budi"].token)
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_queries_need_a_token(api, world):
    body = (await api.post(TASKS, {"first": 5})).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_node_and_nodes(api, world):
    token = world["budi"].token
    data = await api.gql("{ tasks(first: 2) { edges { node { id title } } } }", token=token)
    ids = [edge["node"]["id"] for edge in data["tasks"]["edges"]]
    nodes = await api.gql(
        "query($ids: [ID!]!, $one: ID!) { nodes(ids: $ids) { id ... on Task { title } }"
        " node(id: $one) { __typename ... on User { username } } }",
        {"ids": ids, "one": world["siti"].id},
        token,
    )
    assert [n["id"] for n in nodes["nodes"]] == ids
    assert nodes["node"] == {"__typename": "User", "username": "siti"}


async def test_users_filter(api, world):
    token = world["budi"].token
    await api.gql(
        'mutation { accountUpdate(input: {skills: ["cleanup"], bio: "river person"})'
        " { errors { code } } }",
        token=token,
    )
    by_skill = await api.gql(
        '{ users(first: 10, filter: {skill: "Cleanup"}) { edges { node { username } } } }',
        token=token,
    )
    assert by_skill["users"]["edges"] == [{"node": {"username": "budi"}}]
    by_search = await api.gql(
        '{ users(first: 10, filter: {search: "RIVER"}) { edges { node { username } } } }',
        token=token,
    )
    assert by_search["users"]["edges"] == [{"node": {"username": "budi"}}]
    everyone = await api.gql("{ users(first: 10) { edges { node { username } } } }", token=token)
    assert [e["node"]["username"] for e in everyone["users"]["edges"]] == ["agus", "budi", "siti"]


async def test_profile_task_connections(api, world):
    data = await api.gql(
        '{ user(by: {username: "agus"}) { tasksCreated(first: 5) { edges { node { title } } }'
        " tasksAssigned(first: 5) { edges { node { title } } } } }",
        token=world["budi"].token,
    )
    assert data["user"]["tasksCreated"]["edges"] == [
        {"node": {"title": "Online bookkeeping lesson"}}
    ]
    assert data["user"]["tasksAssigned"]["edges"] == []
