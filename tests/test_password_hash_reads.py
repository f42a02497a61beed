"""Only signing in reads a password hash (issue 13): every query that shows users, and every
mutation that loads the viewer, selects the users' columns without it."""

from __future__ import annotations

import pytest

from tests.helpers import LOGIN, PASSWORD, create_task, create_user, register

VOUCH = """mutation($input: VouchCreateInput!) { vouchCreate(input: $input) {
  vouch { voucher { username } vouchee { username } } errors { code } } }"""
READS = {
    "me": "{ me { username email roles } }",
    "user": "query($u: String!) { user(by: {username: $u}) { username bio } }",
    "users": "{ users(first: 10) { edges { node { username email } } } }",
    "tasks": "{ tasks(first: 10) { edges { node { creator { username } assignee { id } } } } }",
    "node": "query($id: ID!) { node(id: $id) { ... on User { username } } }",
    "vouches": "{ vouches(first: 10) { edges { node { voucher { username } } } } }",
    "profile": """query($u: String!) { user(by: {username: $u}) { username
      vouchesReceived(first: 5) { edges { node { voucher { username } } } }
      tasksCreated(first: 5) { edges { node { creator { username } } } } } }""",
}


def _read_hash(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "password_hash" in statement]


@pytest.mark.executor  # the executor's reads (the compiled path selects only what is asked)
async def test_no_read_but_signing_in_selects_the_password_hash(api):
    siti = await create_user(api, "siti", ["organizer"])
    ayu = await register(api, "ayu")
    await create_task(api, siti, title="One")
    variables = {"u": "siti", "id": ayu.id}
    for name, query in READS.items():
        with api.statements as counter:
            await api.gql(
                query, {k: v for k, v in variables.items() if f"${k}" in query}, ayu.token
            )
        assert counter.count > 0, name
        assert _read_hash(counter.statements) == [], name

    with api.statements as counter:
        data = await api.gql(
            VOUCH, {"input": {"voucheeId": siti.id, "skill": "carpentry"}}, ayu.token
        )
    assert data["vouchCreate"] == {
        "vouch": {"voucher": {"username": "ayu"}, "vouchee": {"username": "siti"}},
        "errors": [],
    }
    assert _read_hash(counter.statements) == []

    with api.statements as counter:
        data = await api.gql(LOGIN, {"login": "ayu", "password": PASSWORD})
    assert data["tokenCreate"]["errors"] == []
    (signing_in,) = _read_hash(counter.statements)
    assert signing_in.startswith("SELECT ")
