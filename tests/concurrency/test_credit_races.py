"""Credit under concurrent requests (SPEC 9), over HTTP to one real server process, on the
engine of the run (PostgreSQL or SQLite): a limit holds against a burst of transfers, opposite
transfers do not deadlock, a claimed task reserves once and a contribution is paid once."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx
import pytest

from tests.concurrency.remote import ROOT_PASSWORD, Remote, error_codes, payload_of, running_server
from tests.conftest import JWT_SECRET
from tests.credit.helpers import CLAIM, COMPLETE, LIMIT, ME, START, TRANSFER, VERIFY
from tests.e2e.server import cli
from tests.helpers import GRANT, PASSWORD, Account, create_task, login, register

pytestmark = pytest.mark.slow

BURST = 20
BALANCES = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on User { username
  creditAccount { balanceMinutes reservedMinutes availableMinutes } } } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("credits"), RATE_LIMIT_ENABLED="false") as up:
        yield up


@pytest.fixture
async def remote(server):
    limits = httpx.Limits(max_connections=BURST + 10)
    async with httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as client:
        yield Remote(client)


async def _root(remote: Remote) -> Account:
    assert ROOT_PASSWORD == PASSWORD  # `login` signs the CLI-made root in
    return await login(remote, "root")


async def _user(remote: Remote, root: Account, name: str, *roles: str) -> Account:
    account = await register(remote, f"{name}-{uuid.uuid4().hex[:6]}")
    for role in roles:
        granted = await remote.gql(GRANT, {"userId": account.id, "role": role}, root.token)
        assert granted["accountRoleGrant"]["errors"] == []
    return account


def _transfer(to: str, minutes: int, token: str) -> tuple[str, dict, str]:
    return (TRANSFER, {"input": {"toUserId": to, "minutes": minutes}}, token)


async def _accounts(remote: Remote, root, *people) -> dict[str, dict]:
    data = await remote.gql(BALANCES, {"ids": [who.id for who in people]}, root.token)
    return {node["username"]: node["creditAccount"] for node in data["nodes"]}


def _audit_verify(server, tmp_path) -> None:
    env = {"DATABASE_URL": server.database_url, "JWT_SECRET": JWT_SECRET, "VAR_DIR": str(tmp_path)}
    result = cli("audit", "verify", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_a_limit_lets_exactly_k_of_twenty_parallel_transfers_through(
    server, remote, tmp_path
):
    root = await _root(remote)
    # `gotong-gql user create` made root, with a credit account.
    assert (await remote.gql(ME, token=root.token))["me"]["creditAccount"]["limitMinutes"] == -1200
    giver = await _user(remote, root, "giver")
    takers = [await _user(remote, root, f"taker{i}") for i in range(4)]
    k, minutes = 7, 60
    limited = await remote.gql(LIMIT, {"u": giver.id, "l": -k * minutes}, root.token)
    assert limited["creditLimitSet"]["errors"] == []
    calls = [_transfer(takers[i % 4].id, minutes, giver.token) for i in range(BURST)]
    payloads = [payload_of(body, "creditTransfer") for body in await remote.burst(calls)]
    assert sum(1 for p in payloads if p["errors"] == []) == k, payloads
    assert Counter(c for p in payloads for c in error_codes(p)) == {
        "INSUFFICIENT_CREDIT": BURST - k
    }
    seen = await _accounts(remote, root, giver, *takers)
    assert seen.pop(giver.username) == {
        "balanceMinutes": -k * minutes,
        "reservedMinutes": 0,
        "availableMinutes": 0,
    }
    assert sum(account["balanceMinutes"] for account in seen.values()) == k * minutes
    _audit_verify(server, tmp_path)


async def test_opposite_transfers_at_once_all_go_through(server, remote):
    root = await _root(remote)
    ayu, budi = await _user(remote, root, "ayu"), await _user(remote, root, "budi")
    calls = [_transfer(budi.id, 3, ayu.token), _transfer(ayu.id, 5, budi.token)] * (BURST // 2)
    payloads = [payload_of(body, "creditTransfer") for body in await remote.burst(calls)]
    assert [p["errors"] for p in payloads] == [[]] * BURST  # no deadlock, no busy database
    seen = await _accounts(remote, root, ayu, budi)
    assert (seen[ayu.username]["balanceMinutes"], seen[budi.username]["balanceMinutes"]) == (
        20,
        -20,
    )


async def test_a_claimed_task_reserves_once_and_its_contribution_is_paid_once(
    server, remote, tmp_path
):
    root = await _root(remote)
    organizer = await _user(remote, root, "siti", "ORGANIZER")
    workers = [await _user(remote, root, f"worker{i}") for i in range(8)]
    verifiers = [await _user(remote, root, f"checker{i}", "VERIFIER") for i in range(6)]
    task = (await create_task(remote, organizer, title="Paint the hall", estimatedHours=2))["id"]
    bodies = await remote.burst([(CLAIM, {"t": task}, who.token) for who in workers])
    payloads = [payload_of(body, "taskClaim") for body in bodies]
    winners = [i for i, p in enumerate(payloads) if p["errors"] == []]
    assert len(winners) == 1, payloads
    assert (await _accounts(remote, root, organizer))[organizer.username]["reservedMinutes"] == 120
    worker = workers[winners[0]]
    assert (
        payload_of(await remote.body(START, {"t": task}, worker.token), "taskStart")["errors"] == []
    )
    done = payload_of(
        await remote.body(COMPLETE, {"t": task, "h": 1.5}, worker.token), "taskComplete"
    )
    contribution = done["contribution"]["id"]
    votes = [(VERIFY, {"c": contribution, "o": "APPROVED"}, v.token) for v in verifiers]
    verdicts = [payload_of(body, "contributionVerify") for body in await remote.burst(votes)]
    assert [v["errors"] for v in verdicts] == [[]] * len(verifiers)
    seen = await _accounts(remote, root, organizer, worker)
    assert seen == {
        organizer.username: {"balanceMinutes": -90, "reservedMinutes": 0, "availableMinutes": 1110},
        worker.username: {"balanceMinutes": 90, "reservedMinutes": 0, "availableMinutes": 1290},
    }
    _audit_verify(server, tmp_path)
