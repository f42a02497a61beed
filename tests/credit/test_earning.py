"""Tasks and credit (SPEC 9): reserve on assignment, release on cancel, pay once on approval."""

from __future__ import annotations

from tests.credit.helpers import (
    ASSIGN,
    CANCEL,
    CLAIM,
    ENTRIES,
    account,
    balances,
    finish,
    transfer,
    verify_all,
)
from tests.helpers import create_task, create_user, register
from tests.http.conftest import websocket

HISTORY = """query($t: ID!) { task(id: $t) { payer reservedMinutes
  history(first: 20) { edges { node { action after } } } } }"""
UPDATED = "subscription { creditAccountUpdated { balanceMinutes reservedMinutes } }"


async def _people(api, verifiers: int = 0):
    siti = await create_user(api, "siti", ["organizer"])
    budi, dewi = await register(api, "budi"), await register(api, "dewi")
    checkers = [await create_user(api, f"checker{i}", ["verifier"]) for i in range(verifiers)]
    return siti, budi, dewi, checkers


async def test_assignment_reserves_reassignment_keeps_and_cancelling_releases(api):
    siti, budi, dewi, _ = await _people(api)
    task = await create_task(api, siti, estimatedHours=2.25)
    assert task["estimatedHours"] == 2.25
    assigned = await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    assert assigned["taskAssign"] == {
        "task": {"status": "ASSIGNED", "reservedMinutes": 135},
        "errors": [],
    }
    assert (await account(api, siti))["availableMinutes"] == 1200 - 135
    again = await api.gql(ASSIGN, {"t": task["id"], "u": dewi.id}, siti.token)
    assert again["taskAssign"]["task"]["reservedMinutes"] == 135
    assert await balances(api) == {"siti": (0, 135)}
    cancelled = await api.gql(CANCEL, {"t": task["id"]}, siti.token)
    assert cancelled["taskCancel"]["task"] == {"status": "CANCELLED", "reservedMinutes": 0}
    assert await balances(api) == {}
    history = (await api.gql(HISTORY, {"t": task["id"]}, siti.token))["task"]
    assert history["payer"] == "CREATOR"
    reserved = [
        (edge["node"]["action"], edge["node"]["after"]["reserved_minutes"])
        for edge in history["history"]["edges"]
    ]
    assert reserved == [
        ("task.create", 0),
        ("task.assign", 135),
        ("task.assign", 135),
        ("task.cancel", 0),
    ]


async def test_an_assignment_past_the_payers_limit_is_refused_and_writes_nothing(api):
    siti, budi, _, _ = await _people(api)
    task = await create_task(api, siti, estimatedHours=25)  # 1500 minutes, over 1200
    before = await api.table_counts()
    refused = await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    assert refused["taskAssign"] == {
        "task": None,
        "errors": [{"path": None, "code": "INSUFFICIENT_CREDIT"}],
    }
    claimed = await api.gql(CLAIM, {"t": task["id"]}, budi.token)
    assert claimed["taskClaim"]["errors"] == [{"path": None, "code": "INSUFFICIENT_CREDIT"}]
    assert await api.table_counts() == before
    assert await balances(api) == {}
    small = await create_task(api, siti, estimatedHours=20)  # exactly the limit
    ok = await api.gql(CLAIM, {"t": small["id"]}, budi.token)
    assert ok["taskClaim"]["task"]["reservedMinutes"] == 1200
    assert (await account(api, siti))["availableMinutes"] == 0
    assert (await transfer(api, siti, budi, 1))["errors"][0]["code"] == "INSUFFICIENT_CREDIT"


async def test_approval_pays_the_duration_once_and_releases_the_rest(api):
    siti, budi, _, checkers = await _people(api, verifiers=4)
    task = await create_task(api, siti, title="Fix the gate", estimatedHours=2)
    await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    contribution = await finish(api, task["id"], budi, 1.5)
    assert await balances(api) == {"siti": (0, 120)}
    assert await verify_all(api, checkers[:2], contribution, "APPROVED") == "PENDING"
    assert await balances(api) == {"siti": (0, 120)}
    assert await verify_all(api, checkers[2:3], contribution, "APPROVED") == "VERIFIED"
    assert await balances(api) == {"siti": (-90, 0), "budi": (90, 0)}
    # More verdicts, and a change of mind and back, move nothing again.
    await verify_all(api, checkers[3:], contribution, "APPROVED")
    for outcome in ("REJECTED", "APPROVED"):
        await verify_all(api, checkers[:3], contribution, outcome)
    assert await balances(api) == {"siti": (-90, 0), "budi": (90, 0)}
    assert (await api.sql("SELECT count(*) FROM credit_transactions"))[0][0] == 1
    entries = (await api.gql(ENTRIES, {"first": 5}, budi.token))["creditEntries"]
    assert [edge["node"] for edge in entries["edges"]] == [
        {
            "amountMinutes": 90,
            "kind": "TASK_PAYMENT",
            "memo": "Fix the gate",
            "counterparty": {"username": "siti"},
            "counterpartyIsCommunity": False,
            "contribution": {"id": contribution},
        }
    ]
    [(after,)] = await api.sql("SELECT after FROM audit_log WHERE action = 'task.credit_settle'")
    assert '"paid_minutes": 90' in str(after).replace("'", '"')


async def test_payment_is_capped_at_the_reservation(api):
    siti, budi, _, checkers = await _people(api, verifiers=3)
    task = await create_task(api, siti, estimatedHours=1)
    await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    contribution = await finish(api, task["id"], budi, 5)
    assert await verify_all(api, checkers, contribution, "APPROVED") == "VERIFIED"
    assert await balances(api) == {"siti": (-60, 0), "budi": (60, 0)}


async def test_rejection_releases_and_moves_nothing_even_if_approved_later(api):
    siti, budi, _, checkers = await _people(api, verifiers=3)
    task = await create_task(api, siti, estimatedHours=3)
    await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    contribution = await finish(api, task["id"], budi, 2)
    assert await verify_all(api, checkers, contribution, "REJECTED") == "REJECTED"
    assert await balances(api) == {}
    assert await verify_all(api, checkers, contribution, "APPROVED") == "VERIFIED"
    assert await balances(api) == {}
    assert (await api.sql("SELECT count(*) FROM credit_transactions"))[0][0] == 0


async def test_the_community_pays_for_community_tasks(api):
    siti, budi, _, checkers = await _people(api, verifiers=3)
    task = await create_task(api, siti, payer="COMMUNITY", estimatedHours=30)
    claimed = await api.gql(CLAIM, {"t": task["id"]}, budi.token)
    assert claimed["taskClaim"]["task"]["reservedMinutes"] == 1800  # no limit on the community
    contribution = await finish(api, task["id"], budi, 24)
    assert await verify_all(api, checkers, contribution, "APPROVED") == "VERIFIED"
    assert await balances(api) == {"community": (-1440, 0), "budi": (1440, 0)}
    entries = (await api.gql(ENTRIES, {"first": 1}, budi.token))["creditEntries"]
    node = entries["edges"][0]["node"]
    assert (node["counterparty"], node["counterpartyIsCommunity"]) == (None, True)


async def test_no_estimate_reserves_nothing_and_oneself_is_never_paid(api):
    siti, budi, _, checkers = await _people(api, verifiers=3)
    free = await create_task(api, siti)
    await api.gql(ASSIGN, {"t": free["id"], "u": budi.id}, siti.token)
    own = await create_task(api, siti, estimatedHours=2)
    assert (await api.gql(CLAIM, {"t": own["id"]}, siti.token))["taskClaim"]["errors"] == []
    assert await balances(api) == {"siti": (0, 120)}
    for task, worker in ((free, budi), (own, siti)):
        contribution = await finish(api, task["id"], worker, 1)
        assert await verify_all(api, checkers, contribution, "APPROVED") == "VERIFIED"
    assert await balances(api) == {}


async def test_the_owner_hears_every_change_of_their_account(api):
    siti, budi, dewi, _ = await _people(api)
    task = await create_task(api, siti, estimatedHours=1)
    async with websocket(api.app) as ws:
        init = {"authorization": f"Bearer {budi.token}"}
        await ws.send_json({"type": "connection_init", "payload": init})
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": UPDATED}})
        await api.gql(ASSIGN, {"t": task["id"], "u": dewi.id}, siti.token)  # siti's, not budi's
        await transfer(api, dewi, budi, 25)
        first = await ws.receive_json()
        assert first["payload"]["data"]["creditAccountUpdated"] == {
            "balanceMinutes": 25,
            "reservedMinutes": 0,
        }
        await transfer(api, budi, siti, 5)
        second = await ws.receive_json()
        assert second["payload"]["data"]["creditAccountUpdated"]["balanceMinutes"] == 20
