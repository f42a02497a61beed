"""Subscriptions follow the viewer as they are now, event by event: a verifier whose role is
revoked stops seeing evidence (with its GPS position) from the next event on, and a subscriber
whose account is gone is cut off, without waiting for the token to expire."""

from __future__ import annotations

from tests.helpers import create_user, register
from tests.http.conftest import websocket
from tests.http.task_flow import REVOKE, add_evidence, completed_task

TASK_UPDATED = """subscription($t: ID!) { taskUpdated(taskId: $t) { type
  task { contribution { evidence(first: 5) { edges { node { latitude longitude } } } } } } }"""


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
    _, budi, task, contribution_id = await completed_task(api)
    rahmat = await create_user(api, "rahmat", ["verifier"])
    root = await create_user(api, "root", ["admin"])
    async with websocket(api.app) as ws:
        await _subscribe(ws, rahmat.token, task["id"])
        await add_evidence(api, budi, contribution_id)
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
        await add_evidence(api, budi, contribution_id)
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
    _, budi, task, contribution_id = await completed_task(api)
    ayu = await register(api, "ayu")
    async with websocket(api.app) as ws:
        await _subscribe(ws, ayu.token, task["id"])
        await add_evidence(api, budi, contribution_id)
        assert (await ws.receive_json())["payload"]["data"]["taskUpdated"]["type"] == (
            "EVIDENCE_ADDED"
        )
        await api.sql("DELETE FROM users WHERE username = 'ayu'")
        await add_evidence(api, budi, contribution_id)
        ended = await ws.receive_json()
        assert ended["type"] == "next"
        (error,) = ended["payload"]["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await ws.receive_json()) == {"id": "1", "type": "complete"}
