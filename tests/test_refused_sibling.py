"""A refused root field next to others (issue 13): the others answer or, when the refused field
is non-null, `data` is null as GraphQL says; never an INTERNAL error or a broken connection.

graphql-core answers as soon as a non-null root field fails and cancels the sibling resolvers,
while a DataLoader batch they started runs on in its own task: the request's session must not
be closed under it (gotong_gql/graphql/context.py)."""

from __future__ import annotations

import pytest

from tests.helpers import create_task, create_user, register

TASKS = "tasks(first: 5) { edges { node { title creator { username } skills { name } } } }"
REFUSED = {
    "webhookEvents": "webhookEvents(first: 5) { totalCount }",
    "webhookFailures": "webhookFailures(first: 5) { totalCount }",
    "auditCheckpoint": "auditCheckpoint { chain }",
}


@pytest.fixture
async def ayu(api):
    siti = await create_user(api, "siti", ["organizer"])
    for title in ("One", "Two", "Three"):
        await create_task(api, siti, title=title)
    return await register(api, "ayu")


def _forbidden(body: dict, field: str) -> None:
    (error,) = body["errors"]
    assert error["path"] == [field]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"] == "admins only"


@pytest.mark.parametrize("refused", list(REFUSED))
async def test_a_non_null_refused_field_after_a_list_nulls_data_without_breaking(api, ayu, refused):
    for fields in (f"{TASKS} {REFUSED[refused]}", f"{REFUSED[refused]} {TASKS}"):
        response = await api.post(f"{{ {fields} }}", token=ayu.token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] is None
        _forbidden(body, refused)
    # The connections went back to the pool, usable: the next request answers in full.
    data = await api.gql(f"{{ {TASKS} }}", token=ayu.token)
    assert [edge["node"]["title"] for edge in data["tasks"]["edges"]] == ["Three", "Two", "One"]
    assert api.services.engine.pool.checkedout() == 0


async def test_a_nullable_refused_field_leaves_its_sibling_whole(api, ayu):
    for fields in (
        f"{TASKS} creditCommunityAccount {{ id }}",
        f"creditCommunityAccount {{ id }} {TASKS}",
    ):
        response = await api.post(f"{{ {fields} }}", token=ayu.token)
        assert response.status_code == 200, response.text
        body = response.json()
        _forbidden(body, "creditCommunityAccount")
        assert body["data"] == {
            "creditCommunityAccount": None,
            "tasks": {
                "edges": [
                    {"node": {"title": title, "creator": {"username": "siti"}, "skills": []}}
                    for title in ("Three", "Two", "One")
                ]
            },
        }
