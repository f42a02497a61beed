"""The viewer is loaded once per request and shared by every resolver, even those that run at
the same time (GraphQL resolves the fields of a list concurrently)."""

from __future__ import annotations

import pytest

from tests.helpers import create_user, register

CONTRIBUTE = """mutation($title: String!) { contributionCreate(input:
  {contributionType: MENTORING, title: $title}) { errors { code } } }"""


@pytest.mark.executor  # the executor's statements: the compiled path is one (tests/compiler)
async def test_every_row_of_a_list_sees_the_admin(api):
    root = await create_user(api, "root", ["admin"])
    for name in ("ayu", "budi", "citra"):
        await register(api, name)
    with api.statements as counter:
        data = await api.gql(
            "{ users(first: 10) { edges { node { username email } } } }", token=root.token
        )
    assert [tuple(edge["node"].values()) for edge in data["users"]["edges"]] == [
        ("ayu", "ayu@example.org"),
        ("budi", "budi@example.org"),
        ("citra", "citra@example.org"),
        ("root", "root@example.org"),
    ]
    assert counter.count == 2  # the page, and the viewer once


async def test_evidence_of_every_row_is_resolved_for_the_admin(api):
    root = await create_user(api, "root", ["admin"])
    ayu = await register(api, "ayu")
    for title in ("One", "Two", "Three"):
        await api.gql(CONTRIBUTE, {"title": title}, ayu.token)
    data = await api.gql(
        "{ contributions(first: 10) { edges { node { title"
        " evidence(first: 5) { edges { node { id } } } } } } }",
        token=root.token,
    )
    assert [edge["node"] for edge in data["contributions"]["edges"]] == [
        {"title": title, "evidence": {"edges": []}} for title in ("Three", "Two", "One")
    ]
