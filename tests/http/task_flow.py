"""A task taken to completion over GraphQL, and evidence on its contribution: what the
subscription tests watch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.helpers import Account, create_task, create_user, register

ASSIGN = """mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})
  { errors { code } } }"""
START = "mutation($t: ID!) { taskStart(input: {taskId: $t}) { errors { code } } }"
COMPLETE = """mutation($t: ID!) { taskComplete(input: {taskId: $t, durationHours: 2}) {
  contribution { id } errors { code } } }"""
GPS = """mutation($c: ID!, $at: DateTime!) { evidenceSubmit(input: {contributionId: $c,
  evidenceType: GPS_VERIFICATION, timestamp: $at, location: {latitude: -7.8, longitude: 110.37}}) {
  errors { code } } }"""
REVOKE = """mutation($u: ID!) { accountRoleRevoke(input: {userId: $u, role: VERIFIER}) {
  errors { code } } }"""


async def completed_task(api: Any) -> tuple[Account, Account, dict[str, Any], str]:
    """Organizer siti's task "Clean the river", done by budi: siti, budi, the task and the id of
    its contribution."""
    siti = await create_user(api, "siti", ["organizer"])
    budi = await register(api, "budi")
    task = await create_task(api, siti, title="Clean the river")
    await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    await api.gql(START, {"t": task["id"]}, budi.token)
    done = await api.gql(COMPLETE, {"t": task["id"]}, budi.token)
    return siti, budi, task, done["taskComplete"]["contribution"]["id"]


async def add_evidence(api: Any, who: Account, contribution_id: str) -> None:
    """A GPS proof on the contribution, submitted by `who`."""
    variables = {"c": contribution_id, "at": datetime.now(UTC).isoformat()}
    assert (await api.gql(GPS, variables, who.token))["evidenceSubmit"]["errors"] == []
