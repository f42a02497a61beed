"""Check-then-write races, fired over HTTP at one real server process, on both engines.

Each race sends CONCURRENCY identical (or conflicting) mutations at once, ROUNDS times, and
asserts an exactly-once outcome and a typed payload code (never INTERNAL) for every loser.
Rounds that touch different rows run in parallel, BATCH at a time.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest
from strawberry import relay

from tests.concurrency.remote import ROOT_PASSWORD, Remote, error_codes, payload_of, running_server
from tests.evidence.helpers import CONFIRM, CONTRIBUTE, REQUEST, make_jpeg, upload_headers
from tests.helpers import GRANT, LOGIN, PASSWORD, REGISTER, Account, create_task, login, register

pytestmark = pytest.mark.slow

CONCURRENCY = 8
ROUNDS = 20
BATCH = 5

REFRESH = """mutation($token: String!) { tokenRefresh(input: {refreshToken: $token}) {
  accessToken refreshToken errors { code } } }"""
CLAIM = """mutation($t: ID!) { taskClaim(input: {taskId: $t}) {
  task { assignee { id } } errors { code } } }"""
START = "mutation($t: ID!) { taskStart(input: {taskId: $t}) { errors { code } } }"
COMPLETE = """mutation($t: ID!) { taskComplete(input: {taskId: $t, durationHours: 1}) {
  task { status } contribution { id } errors { code } } }"""
CANCEL = """mutation($t: ID!) { taskCancel(input: {taskId: $t}) {
  task { status } errors { code } } }"""
REVOKE = """mutation($u: ID!) { accountRoleRevoke(input: {userId: $u, role: ADMIN}) {
  user { id } errors { code } } }"""
TASK = """query($t: ID!) { task(id: $t) { status completedAt assignee { id }
  contribution { id } assignments(first: 10) { edges { node { status } } } } }"""
EVIDENCE_STATUS = "query($id: ID!) { evidence(id: $id) { status } }"
EVENTS = """query($type: WebhookEventType!) { webhookEvents(first: 100, filter: {eventType: $type})
  { edges { node { payload } } } }"""
USERS = """query($search: String!) { users(first: 10, filter: {search: $search}) {
  edges { node { username } } } }"""
ADMINS = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on User { id roles } } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # The rate limiter is not under test here, and these bursts from one address would trip it.
    with running_server(tmp_path_factory.mktemp("races"), RATE_LIMIT_ENABLED="false") as running:
        yield running


@pytest.fixture
async def remote(server):
    limits = httpx.Limits(max_connections=BATCH * CONCURRENCY + 10)
    async with httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as client:
        yield Remote(client)


async def _root(remote: Remote) -> Account:
    data = await remote.gql(LOGIN, {"login": "root", "password": ROOT_PASSWORD})
    payload = data["tokenCreate"]
    return Account(payload["user"]["id"], "root", payload["accessToken"], payload["refreshToken"])


async def _user(remote: Remote, root: Account, name: str, *roles: str) -> Account:
    account = await register(remote, f"{name}-{uuid.uuid4().hex[:6]}")
    for role in roles:
        granted = await remote.gql(GRANT, {"userId": account.id, "role": role}, root.token)
        assert granted["accountRoleGrant"]["errors"] == []
    return account


async def _in_batches(rounds, run) -> None:
    for start in range(0, len(rounds), BATCH):
        await asyncio.gather(*(run(item) for item in rounds[start : start + BATCH]))


def _uuid(global_id: str) -> str:
    return relay.GlobalID.from_id(global_id).node_id


async def _subjects(remote: Remote, root: Account, event_type: str) -> list[dict]:
    data = await remote.gql(EVENTS, {"type": event_type}, root.token)
    return [
        json.loads(edge["node"]["payload"])["subject"] for edge in data["webhookEvents"]["edges"]
    ]


async def test_confirming_one_upload_at_once_queues_it_once(remote):
    root = await _root(remote)
    owner = await _user(remote, root, "ayu")
    photo = make_jpeg(captured=datetime.now(UTC))

    async def one_round(_: int) -> tuple[str, str]:
        made = await remote.gql(CONTRIBUTE, token=owner.token)
        contribution = made["contributionCreate"]["contribution"]["id"]
        requested = await remote.gql(
            REQUEST,
            {
                "input": {
                    "contributionId": contribution,
                    "evidenceType": "PHOTO_WITH_TIMESTAMP",
                    "contentType": "image/jpeg",
                    "sizeBytes": len(photo),
                    "timestamp": datetime.now(UTC).isoformat(),
                }
            },
            owner.token,
        )
        request = requested["evidenceUploadRequest"]
        assert request["errors"] == []
        upload = request["upload"]
        put = await remote.client.put(upload["url"], content=photo, headers=upload_headers(upload))
        assert put.status_code in (200, 201), put.text
        evidence = request["evidence"]["id"]
        bodies = await remote.burst([(CONFIRM, {"id": evidence}, owner.token)] * CONCURRENCY)
        payloads = [payload_of(body, "evidenceUploadConfirm") for body in bodies]
        won = [p for p in payloads if p["errors"] == []]
        assert [p["evidence"]["status"] for p in won] == ["PROCESSING"], payloads
        assert sorted(code for p in payloads for code in error_codes(p)) == (
            ["INVALID_TRANSITION"] * (CONCURRENCY - 1)
        )
        return contribution, evidence

    rounds: list[tuple[str, str]] = []

    async def run(index: int) -> None:
        rounds.append(await one_round(index))

    await _in_batches(list(range(ROUNDS)), run)
    for _, evidence in rounds:  # the job (in this process, embedded mode) judges each once
        for _ in range(300):
            data = await remote.gql(EVIDENCE_STATUS, {"id": evidence}, owner.token)
            if data["evidence"]["status"] != "PROCESSING":
                break
            await asyncio.sleep(0.1)
        assert data["evidence"]["status"] == "VERIFIED"
    subjects = await _subjects(remote, root, "POR_EVIDENCE")
    per_contribution = Counter(subject["contribution_id"] for subject in subjects)
    assert per_contribution == {_uuid(contribution): 1 for contribution, _ in rounds}


async def test_one_refresh_token_refreshes_once_and_reuse_revokes_the_family(remote):
    root = await _root(remote)
    owner = await _user(remote, root, "budi")

    async def one_round(_: int) -> None:
        session = await login(remote, owner.username)
        bodies = await remote.burst(
            [(REFRESH, {"token": session.refresh_token}, None)] * CONCURRENCY
        )
        payloads = [payload_of(body, "tokenRefresh") for body in bodies]
        won = [p for p in payloads if p["errors"] == []]
        assert len(won) == 1, payloads
        losers = Counter(code for p in payloads for code in error_codes(p))
        assert sum(losers.values()) == CONCURRENCY - 1, payloads
        assert set(losers) <= {"TOKEN_REUSED", "TOKEN_REVOKED"}, losers
        assert losers["TOKEN_REUSED"] >= 1, losers  # reuse detection fired
        # ... and revoked the whole family, the winner's new refresh token included.
        again = await remote.gql(REFRESH, {"token": won[0]["refreshToken"]})
        assert error_codes(again["tokenRefresh"]) == ["TOKEN_REVOKED"]

    await _in_batches(list(range(ROUNDS)), one_round)


async def test_a_task_is_completed_or_cancelled_never_both(remote):
    root = await _root(remote)
    organizer = await _user(remote, root, "siti", "ORGANIZER")
    worker = await _user(remote, root, "dewi")
    outcomes: Counter[str] = Counter()
    tasks: list[str] = []

    async def one_round(_: int) -> None:
        task = (await create_task(remote, organizer, title="Fix the gate"))["id"]
        tasks.append(task)
        for document in (CLAIM, START):
            done = await remote.gql(document, {"t": task}, worker.token)
            assert next(iter(done.values()))["errors"] == []
        half = CONCURRENCY // 2
        calls = [(COMPLETE, {"t": task}, worker.token)] * half + [
            (CANCEL, {"t": task}, organizer.token)
        ] * (CONCURRENCY - half)
        bodies = await remote.burst(calls)
        payloads = [payload_of(bodies[i], "taskComplete") for i in range(half)] + [
            payload_of(bodies[i], "taskCancel") for i in range(half, CONCURRENCY)
        ]
        won = [p["task"]["status"] for p in payloads if p["errors"] == []]
        assert len(won) == 1, payloads
        assert [c for p in payloads for c in error_codes(p)] == ["INVALID_TRANSITION"] * (
            CONCURRENCY - 1
        ), payloads
        state = (await remote.gql(TASK, {"t": task}, organizer.token))["task"]
        assert state["status"] == won[0]
        if won[0] == "COMPLETED":
            assert state["completedAt"] is not None and state["contribution"] is not None
        else:
            assert state["completedAt"] is None and state["contribution"] is None
        outcomes[won[0]] += 1

    await _in_batches(list(range(ROUNDS)), one_round)
    subjects = await _subjects(remote, root, "CONTRIBUTION_CREATED")
    completed = Counter(
        subject["metadata"]["task_id"] for subject in subjects if subject["metadata"].get("task_id")
    )
    states = [(await remote.gql(TASK, {"t": task}, root.token))["task"] for task in tasks]
    assert completed == {
        _uuid(task): 1
        for task, state in zip(tasks, states, strict=True)
        if state["status"] == "COMPLETED"
    }
    assert sum(outcomes.values()) == ROUNDS


async def test_one_claim_wins_the_others_get_invalid_transition(remote):
    root = await _root(remote)
    organizer = await _user(remote, root, "rina", "ORGANIZER")
    claimers = [await _user(remote, root, f"claimer{i}") for i in range(CONCURRENCY)]

    async def one_round(_: int) -> None:
        task = (await create_task(remote, organizer, title="Carry sand"))["id"]
        bodies = await remote.burst([(CLAIM, {"t": task}, who.token) for who in claimers])
        payloads = [payload_of(body, "taskClaim") for body in bodies]
        won = [p["task"]["assignee"]["id"] for p in payloads if p["errors"] == []]
        assert len(won) == 1, payloads
        assert [c for p in payloads for c in error_codes(p)] == ["INVALID_TRANSITION"] * (
            CONCURRENCY - 1
        ), payloads
        state = (await remote.gql(TASK, {"t": task}, organizer.token))["task"]
        assert state["assignee"]["id"] == won[0]
        assert [edge["node"]["status"] for edge in state["assignments"]["edges"]] == ["ACTIVE"]

    await _in_batches(list(range(ROUNDS)), one_round)


async def test_admins_demoting_each_other_leave_at_least_one_admin(remote):
    root = await _root(remote)
    admins = [await _user(remote, root, f"admin{i}", "ADMIN") for i in range(CONCURRENCY)]
    ids = [admin.id for admin in admins]
    # Only the ring is admin now: root steps down (a ring member asks).
    stepped = await remote.gql(REVOKE, {"u": root.id}, admins[0].token)
    assert stepped["accountRoleRevoke"]["errors"] == []

    for _ in range(ROUNDS):
        ring = [(REVOKE, {"u": ids[(i + 1) % len(ids)]}, admins[i].token) for i in range(len(ids))]
        payloads = [payload_of(body, "accountRoleRevoke") for body in await remote.burst(ring)]
        codes = Counter(c for p in payloads for c in error_codes(p))
        assert set(codes) <= {"LAST_ADMIN", "FORBIDDEN"}, payloads
        remaining = await _admin_ids(remote, ids, root)
        assert len(remaining) >= 1
        assert sum(1 for p in payloads if p["errors"] == []) == len(ids) - len(remaining)
        survivor = admins[ids.index(remaining[0])]
        for user_id in set(ids) - set(remaining):
            granted = await remote.gql(GRANT, {"userId": user_id, "role": "ADMIN"}, survivor.token)
            assert granted["accountRoleGrant"]["errors"] == []
    restored = await remote.gql(GRANT, {"userId": root.id, "role": "ADMIN"}, admins[0].token)
    assert restored["accountRoleGrant"]["errors"] == []


async def _admin_ids(remote: Remote, ids: list[str], viewer: Account) -> list[str]:
    data = await remote.gql(ADMINS, {"ids": ids}, viewer.token)
    return [user["id"] for user in data["nodes"] if "ADMIN" in user["roles"]]


async def test_one_username_in_any_case_registers_once(remote):
    """Usernames are unique whatever their case (sign-in and lookups ignore it): of concurrent
    registrations of one name in different cases, one gets the account, the others
    USERNAME_TAKEN, and only that one account exists afterwards."""
    root = await _root(remote)

    async def one_round(_: int) -> None:
        base = f"ayu{uuid.uuid4().hex[:8]}"
        names = [base.upper() if i % 2 else base.capitalize() for i in range(CONCURRENCY)]
        names[0] = base
        calls = [
            (
                REGISTER,
                {
                    "input": {
                        "username": name,
                        "email": f"{i}{base}@example.org",
                        "password": PASSWORD,
                    }
                },
                None,
            )
            for i, name in enumerate(names)
        ]
        payloads = [payload_of(body, "accountRegister") for body in await remote.burst(calls)]
        won = [p["user"]["username"] for p in payloads if p["errors"] == []]
        assert len(won) == 1, payloads
        assert [c for p in payloads for c in error_codes(p)] == ["USERNAME_TAKEN"] * (
            CONCURRENCY - 1
        ), payloads
        found = await remote.gql(USERS, {"search": base}, root.token)
        assert [edge["node"]["username"] for edge in found["users"]["edges"]] == won

    await _in_batches(list(range(ROUNDS // 4)), one_round)


async def test_one_email_registers_once(remote):
    async def one_round(_: int) -> None:
        email = f"ayu{uuid.uuid4().hex[:8]}@example.org"
        calls = [
            (
                REGISTER,
                {
                    "input": {
                        "username": f"u{i}{uuid.uuid4().hex[:8]}",
                        "email": email,
                        "password": PASSWORD,
                    }
                },
                None,
            )
            for i in range(CONCURRENCY)
        ]
        payloads = [payload_of(body, "accountRegister") for body in await remote.burst(calls)]
        assert sum(1 for p in payloads if p["errors"] == []) == 1, payloads
        assert [c for p in payloads for c in error_codes(p)] == ["EMAIL_TAKEN"] * (
            CONCURRENCY - 1
        ), payloads

    await _in_batches(list(range(ROUNDS // 4)), one_round)
