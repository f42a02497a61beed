"""End to end over HTTP, against a real server process: a task paid by its creator is assigned,
completed and approved by three verifiers; the balances move once, exactly as SPEC 9 says, and
the audit trail and the ledger verify against the heads the API shows."""

from __future__ import annotations

import httpx
import pytest

from tests.concurrency.remote import Remote, running_server
from tests.conftest import JWT_SECRET
from tests.credit.helpers import ASSIGN, COMPLETE, ENTRIES, START, VERIFY
from tests.e2e.server import cli
from tests.helpers import GRANT, create_task, login, register

pytestmark = pytest.mark.slow

ACCOUNT = """query($u: ID!) { node(id: $u) { ... on User { username
  creditAccount { balanceMinutes reservedMinutes limitMinutes availableMinutes } } } }"""
CHECKPOINT = "{ auditCheckpoint { chain head count } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("credits-e2e")) as up:
        yield up


async def test_a_creators_task_pays_its_assignee_once(server, tmp_path):
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        remote = Remote(client)
        root = await login(remote, "root")
        siti, budi = await register(remote, "siti"), await register(remote, "budi")
        verifiers = [await register(remote, f"checker{i}") for i in range(4)]
        for who, role in [(siti, "ORGANIZER")] + [(v, "VERIFIER") for v in verifiers]:
            granted = await remote.gql(GRANT, {"userId": who.id, "role": role}, root.token)
            assert granted["accountRoleGrant"]["errors"] == []

        async def account(who) -> dict:
            data = await remote.gql(ACCOUNT, {"u": who.id}, root.token)
            return data["node"]["creditAccount"]

        task = await create_task(remote, siti, title="Repair the well pump", estimatedHours=3)
        assigned = await remote.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
        assert assigned["taskAssign"]["task"] == {"status": "ASSIGNED", "reservedMinutes": 180}
        assert await account(siti) == {
            "balanceMinutes": 0,
            "reservedMinutes": 180,
            "limitMinutes": -1200,
            "availableMinutes": 1020,
        }
        assert (await remote.gql(START, {"t": task["id"]}, budi.token))["taskStart"]["errors"] == []
        done = await remote.gql(COMPLETE, {"t": task["id"], "h": 2.5}, budi.token)
        contribution = done["taskComplete"]["contribution"]["id"]
        statuses = []
        for verifier in verifiers[:3]:
            verdict = await remote.gql(VERIFY, {"c": contribution, "o": "APPROVED"}, verifier.token)
            statuses.append(verdict["contributionVerify"]["contribution"]["verificationStatus"])
            # Nothing moves before the consensus.
            if len(statuses) < 3:
                assert (await account(budi))["balanceMinutes"] == 0
        assert statuses == ["PENDING", "PENDING", "VERIFIED"]
        # 2.5 hours worked of 3 reserved: 150 minutes paid, the other 30 released.
        assert await account(siti) == {
            "balanceMinutes": -150,
            "reservedMinutes": 0,
            "limitMinutes": -1200,
            "availableMinutes": 1050,
        }
        assert await account(budi) == {
            "balanceMinutes": 150,
            "reservedMinutes": 0,
            "limitMinutes": -1200,
            "availableMinutes": 1350,
        }
        # A fourth approval changes nothing.
        await remote.gql(VERIFY, {"c": contribution, "o": "APPROVED"}, verifiers[3].token)
        assert (await account(budi))["balanceMinutes"] == 150
        entries = (await remote.gql(ENTRIES, {"first": 10}, budi.token))["creditEntries"]
        assert [edge["node"]["amountMinutes"] for edge in entries["edges"]] == [150]
        assert entries["edges"][0]["node"]["kind"] == "TASK_PAYMENT"
        assert entries["edges"][0]["node"]["memo"] == "Repair the well pump"

        heads = (await remote.gql(CHECKPOINT, token=root.token))["auditCheckpoint"]
        ledger = next(head for head in heads if head["chain"] == "credit_transactions")
        assert ledger["count"] == 1
    env = {"DATABASE_URL": server.database_url, "JWT_SECRET": JWT_SECRET, "VAR_DIR": str(tmp_path)}
    checked = cli(
        "audit", "verify", "--checkpoint", f"credit_transactions:1:{ledger['head']}", env=env
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
