"""GraphQL documents and small helpers shared by the tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from gotong_gql.uow import unit_of_work
from gotong_gql.user import registration

PASSWORD = "correct horse battery"

REGISTER = """
mutation($input: AccountRegisterInput!) {
  accountRegister(input: $input) { user { id username email roles } errors { path message code } }
}"""
LOGIN = """
mutation($login: String!, $password: String!) {
  tokenCreate(input: {login: $login, password: $password}) {
    accessToken refreshToken accessTokenExpiresAt user { id username }
    errors { path message code }
  }
}"""
GRANT = """
mutation($userId: ID!, $role: Role!) {
  accountRoleGrant(input: {userId: $userId, role: $role}) {
    user { id roles } errors { path message code }
  }
}"""
TASK_FIELDS = """
  id title description status difficulty location latitude longitude estimatedHours metadata
  creator { username } assignee { username } skills { name } completedAt
"""
TASK_CREATE = (
    """
mutation($input: TaskCreateInput!) {
  taskCreate(input: $input) { task { %s } errors { path message code } }
}"""
    % TASK_FIELDS
)


@dataclass
class Account:
    id: str
    username: str
    token: str
    refresh_token: str


async def register(api: Any, username: str) -> Account:
    data = await api.gql(
        REGISTER,
        {"input": {"username": username, "email": f"{username}@example.org", "password": PASSWORD}},
    )
    assert data["accountRegister"]["errors"] == []
    return await login(api, username)


async def login(api: Any, username: str) -> Account:
    data = await api.gql(LOGIN, {"login": username, "password": PASSWORD})
    payload = data["tokenCreate"]
    assert payload["errors"] == [], payload["errors"]
    return Account(payload["user"]["id"], username, payload["accessToken"], payload["refreshToken"])


async def create_user(api: Any, username: str, roles: list[str]) -> Account:
    """A user with roles, made the way `gotong-gql user create --role` makes one."""
    services = api.services
    async with (
        services.session_factory() as session,
        unit_of_work(session, services, actor_id=None, request_id="test") as uow,
    ):
        await registration.create_user(
            uow,
            {"username": username, "email": f"{username}@example.org", "password": PASSWORD},
            roles,
        )
    return await login(api, username)


async def create_task(api: Any, organizer: Account, **fields: Any) -> dict[str, Any]:
    data = await api.gql(TASK_CREATE, {"input": {"title": "A task", **fields}}, organizer.token)
    assert data["taskCreate"]["errors"] == [], data["taskCreate"]["errors"]
    return data["taskCreate"]["task"]


def input_path(field: str | None) -> list[str] | None:
    """The `path` of a payload error on a field of the mutation's `input`, written dotted:
    `witnesses.2.witnessName` is `["input", "witnesses", "2", "witnessName"]`."""
    return None if field is None else ["input", *field.split(".")]


def json_value(value: Any) -> Any:
    """A JSON column as read by raw SQL: JSONB arrives decoded, SQLite's JSON as text."""
    return json.loads(value) if isinstance(value, str) else value


def uuid_text(value: Any) -> str:
    """A uuid read by raw SQL, as text: PostgreSQL gives a UUID, SQLite 32 hex digits."""
    return str(uuid.UUID(str(value)))
