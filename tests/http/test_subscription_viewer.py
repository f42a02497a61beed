"""Subscriptions follow the viewer as they are now, event by event: a verifier whose role is
revoked stops seeing evidence (with its GPS position) from the next event on, and a subscriber
whose account is gone is cut off, without waiting for the token to expire."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.helpers import create_task, create_user, register
from tests.http.conftest import websocket

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
TASK_UPDATED = """subscription($t: ID!) { taskUpdated(taskId: $t) { type
  task { contribution { evidence(first: 5) { edges { node { latitude longitude } } } } } } }"""


async def _completed_task(api):
    siti = await create_user(api, "siti", ["organizer"])
    budi = await register(api, "budi")
    task = await create_task(api, siti, title="Clean the river")
    await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    await api.gql(START, {"t": task["id"]}, budi.token)
    done = await api.gql(COMPLETE, {"t": task["id"]}, budi.token)
    return budi, task, done["taskComplete"]["contribution"]["id"]


async def _add_evidence(api, budi, contribution_id) -> None:
    variables = {"c": contribution_id, "at": datetime.now(UTC).isoformat()}
    assert (await api.gql(GPS, variables, budi.token))["evidenceSubmit"]["errors"] == []


async def _subscribe(ws, token: str, task_id: str) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert (await ws.receive_json())["type"] == "connection_ack"
    await ws.send_json(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": TASK_UPDATED, "variables": {"t": task_id}},
        }
    )


async def test_a_revoked_verifier_stops_seeing_evidence_at_the_next_event(api):
    budi, task, contribution_id = await _completed_task(api)
    rahmat = await create_user(api, "rahmat", ["verifier"])
    root = await create_user(api, "root", ["admin"])
    async with websocket(api.app) as ws:
        await _subscribe(ws, rahmat.token, task["id"])
        await _add_evidence(api, budi, contribution_id)
        first = await ws.receive_json()
        assert first["payload"]["data"]["taskUpdated"] == {
            "type": "EVIDENCE_ADDED",
            "task": {
                "contribution": {
                    "evidence": {"edges": [{"node": {"latitude": -7.8, "longitude": 110.37}}]}
                }
            },
        }
        revoked = await api.gql(REVOKE, {"u": rahmat.id}, root.token)
        assert revoked["accountRoleRevoke"]["errors"] == []
        await _add_evidence(api, budi, contribution_id)
        second = await ws.receive_json()
        assert second["payload"] == {
            "data": {
                "taskUpdated": {
                    "type": "EVIDENCE_ADDED",
                    "task": {"contribution": {"evidence": None}},
                }
            }
        }


async def test_a_subscriber_whose_account_is_gone_is_cut_off(api):
    budi, task, contribution_id = await _completed_task(api)
    ayu = await register(api, "ayu")
    async with websocket(api.app) as ws:
        await _subscribe(ws, ayu.token, task["id"])
        await _add_evidence(api, budi, contribution_id)
        assert (await ws.receive_json())["payload"]["data"]["taskUpdated"]["type"] == (
            "EVIDENCE_ADDED"
        )
        await api.sql("DELETE FROM users WHERE username = 'ayu'")
        await _add_evidence(api, budi, contribution_id)
        ended = await ws.receive_json()
        assert ended["type"] == "next"
        (error,) = ended["payload"]["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await ws.receive_json()) == {"id": "1", "type": "complete"}
