"""Accounts, transfers, limits and entries through the GraphQL endpoint (SPEC 9)."""

from __future__ import annotations

import uuid

from strawberry import relay

from tests.credit.helpers import (
    ACCOUNT_FIELDS,
    CLAIM,
    ENTRIES,
    LIMIT,
    ME,
    account,
    balances,
    transfer,
)
from tests.helpers import create_task, create_user, register

USER_ACCOUNT = """query($u: ID!) { node(id: $u) { ... on User { username
  creditAccount { balanceMinutes } } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on CreditAccount { balanceMinutes } } }"
COMMUNITY = "{ creditCommunityAccount { %s community owner { username } } }" % ACCOUNT_FIELDS
CHECKPOINT = "{ auditCheckpoint { chain head count at } }"


def _no_such_user() -> str:
    return str(relay.GlobalID("User", str(uuid.uuid4())))


async def test_every_user_has_an_account_that_its_owner_and_admins_see(api):
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    root = await create_user(api, "root", ["admin"])
    mine = await account(api, ayu)
    assert {key: value for key, value in mine.items() if key != "id"} == {
        "balanceMinutes": 0,
        "reservedMinutes": 0,
        "limitMinutes": -1200,
        "availableMinutes": 1200,
    }
    assert relay.GlobalID.from_id(mine["id"]).type_name == "CreditAccount"
    seen_by = {}
    for viewer in (ayu, budi, root):
        data = await api.gql(USER_ACCOUNT, {"u": ayu.id}, viewer.token)
        seen_by[viewer.username] = data["node"]["creditAccount"]
        node = await api.gql(NODE, {"id": mine["id"]}, viewer.token)
        assert node["node"] == seen_by[viewer.username]
    assert seen_by == {
        "ayu": {"balanceMinutes": 0},
        "budi": None,
        "root": {"balanceMinutes": 0},
    }


async def test_a_transfer_moves_credit_once_and_both_sides_list_it(api):
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    paid = await transfer(api, ayu, budi, 90, "  Thanks for fixing the gate  ")
    assert paid == {"account": {"balanceMinutes": -90, "availableMinutes": 1110}, "errors": []}
    assert (await account(api, budi))["balanceMinutes"] == 90
    assert await balances(api) == {"ayu": (-90, 0), "budi": (90, 0)}
    [row] = await api.sql("SELECT kind, reference, memo FROM credit_transactions")
    assert row[0] == "transfer" and row[1].startswith("transfer:")
    assert row[2] == "Thanks for fixing the gate"
    for viewer, amount, other in ((ayu, -90, "budi"), (budi, 90, "ayu")):
        entries = (await api.gql(ENTRIES, {"first": 10}, viewer.token))["creditEntries"]
        assert entries["totalCount"] == 1
        assert [edge["node"] for edge in entries["edges"]] == [
            {
                "amountMinutes": amount,
                "kind": "TRANSFER",
                "memo": "Thanks for fixing the gate",
                "counterparty": {"username": other},
                "counterpartyIsCommunity": False,
                "contribution": None,
            }
        ]


async def test_refused_transfers_write_nothing(api):
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    before = await api.table_counts()
    cases = [
        ((ayu, ayu, 10, None), "SELF_TRANSFER", ["input", "toUserId"]),
        ((ayu, budi, 0, None), "INVALID_AMOUNT", ["input", "minutes"]),
        ((ayu, budi, 6001, None), "INVALID_AMOUNT", ["input", "minutes"]),
        ((ayu, budi, -5, None), "INVALID_AMOUNT", ["input", "minutes"]),
        ((ayu, _no_such_user(), 10, None), "NOT_FOUND", ["input", "toUserId"]),
        ((ayu, "not-an-id", 10, None), "NOT_FOUND", ["input", "toUserId"]),
        ((ayu, budi, 10, "x" * 501), "INVALID_INPUT", ["input", "memo"]),
        ((ayu, budi, 1201, None), "INSUFFICIENT_CREDIT", ["input", "minutes"]),
    ]
    for args, code, path in cases:
        refused = await transfer(api, *args)
        assert refused["account"] is None
        assert [(e["code"], e["path"]) for e in refused["errors"]] == [(code, path)], args
    assert await api.table_counts() == before
    assert (await transfer(api, ayu, budi, 1200))["errors"] == []
    assert (await transfer(api, ayu, budi, 1))["errors"][0]["code"] == "INSUFFICIENT_CREDIT"
    assert (await account(api, ayu))["availableMinutes"] == 0


async def test_admins_set_limits_within_what_the_account_holds(api):
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    root = await create_user(api, "root", ["admin"])
    await transfer(api, ayu, budi, 300)
    before = await api.table_counts()
    refusals = [
        (budi, ayu.id, -100, "FORBIDDEN", None),
        (root, ayu.id, 1, "INVALID_AMOUNT", ["input", "limitMinutes"]),
        (root, ayu.id, -600_001, "INVALID_AMOUNT", ["input", "limitMinutes"]),
        (root, _no_such_user(), -100, "NOT_FOUND", ["input", "userId"]),
        (root, ayu.id, -299, "INSUFFICIENT_CREDIT", ["input", "limitMinutes"]),
    ]
    for viewer, user, limit, code, path in refusals:
        data = await api.gql(LIMIT, {"u": user, "l": limit}, viewer.token)
        assert data["creditLimitSet"]["account"] is None
        assert [(e["code"], e["path"]) for e in data["creditLimitSet"]["errors"]] == [(code, path)]
    assert await api.table_counts() == before

    set_ = await api.gql(LIMIT, {"u": ayu.id, "l": -300}, root.token)
    assert set_["creditLimitSet"] == {
        "account": {"limitMinutes": -300, "availableMinutes": 0},
        "errors": [],
    }
    assert (await transfer(api, ayu, budi, 1))["errors"][0]["code"] == "INSUFFICIENT_CREDIT"
    [row] = await api.sql(
        "SELECT before, after FROM audit_log WHERE action = 'credit_account.limit_set'"
    )
    assert "-1200" in str(row[0]) and "-300" in str(row[1])
    raised = await api.gql(LIMIT, {"u": ayu.id, "l": -5000}, root.token)
    assert raised["creditLimitSet"]["account"]["availableMinutes"] == 4700


async def test_entries_page_both_ways_and_are_the_owners_and_admins(api):
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    root = await create_user(api, "root", ["admin"])
    for minutes in range(1, 6):
        await transfer(api, ayu, budi, minutes, f"gift {minutes}")
    first = (await api.gql(ENTRIES, {"first": 2}, ayu.token))["creditEntries"]
    assert [edge["node"]["amountMinutes"] for edge in first["edges"]] == [-5, -4]
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"] is True
    rest = await api.gql(ENTRIES, {"first": 5, "after": first["pageInfo"]["endCursor"]}, ayu.token)
    assert [e["node"]["amountMinutes"] for e in rest["creditEntries"]["edges"]] == [-3, -2, -1]
    back = await api.gql(ENTRIES, {"last": 2}, ayu.token)
    assert [e["node"]["amountMinutes"] for e in back["creditEntries"]["edges"]] == [-2, -1]

    budi_account = (await account(api, budi))["id"]
    as_admin = await api.gql(ENTRIES, {"a": budi_account, "first": 10}, root.token)
    assert as_admin["creditEntries"]["totalCount"] == 5
    own = await api.gql(ENTRIES, {"a": budi_account, "first": 1}, budi.token)
    assert own["creditEntries"]["edges"][0]["node"]["amountMinutes"] == 5

    forbidden = (await api.post(ENTRIES, {"a": budi_account, "first": 10}, ayu.token)).json()
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert forbidden["data"] is None
    stranger = str(relay.GlobalID("CreditAccount", str(uuid.uuid4())))
    missing = (await api.post(ENTRIES, {"a": stranger, "first": 10}, ayu.token)).json()
    assert missing["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    wrong = (await api.post(ENTRIES, {"a": ayu.id, "first": 10}, root.token)).json()
    assert wrong["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "accountId"}
    neither = (await api.post(ENTRIES, {}, ayu.token)).json()
    assert neither["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}


async def test_an_entries_page_runs_a_fixed_number_of_statements(api):
    ayu = await register(api, "ayu")
    friends = [await register(api, f"friend{i}") for i in range(4)]
    for friend in friends * 3:
        await transfer(api, ayu, friend, 7)
    with api.statements as counter:
        data = await api.gql(ENTRIES, {"first": 12}, ayu.token)
    assert len(data["creditEntries"]["edges"]) == 12
    # viewer, own account, page, totalCount, postings of the page, their accounts, users
    assert counter.count <= 7, counter.statements


async def test_community_account_and_checkpoints_are_for_admins(api):
    ayu = await register(api, "ayu")
    root = await create_user(api, "root", ["admin"])
    # The migration made it; the tests empty the tables, and its first use makes it again.
    task = await create_task(api, root, title="Sweep the hall", payer="COMMUNITY", estimatedHours=1)
    assert (await api.gql(CLAIM, {"t": task["id"]}, ayu.token))["taskClaim"]["errors"] == []
    community = (await api.gql(COMMUNITY, token=root.token))["creditCommunityAccount"]
    assert {key: value for key, value in community.items() if key != "id"} == {
        "balanceMinutes": 0,
        "reservedMinutes": 60,
        "limitMinutes": None,
        "availableMinutes": None,
        "community": True,
        "owner": None,
    }
    for document in (COMMUNITY, CHECKPOINT):
        refused = (await api.post(document, token=ayu.token)).json()
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await transfer(api, ayu, root, 5)
    heads = (await api.gql(CHECKPOINT, token=root.token))["auditCheckpoint"]
    entries = (await api.sql("SELECT count(*) FROM audit_log"))[0][0]
    [(last_hash,)] = await api.sql("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    [(ledger_hash,)] = await api.sql("SELECT hash FROM credit_transactions")
    assert [(head["chain"], head["count"], head["head"]) for head in heads] == [
        ("audit_log", entries, last_hash),
        ("credit_transactions", 1, ledger_hash),
    ]


async def test_me_answers_the_credit_account(api):
    ayu = await register(api, "ayu")
    data = await api.gql(ME, token=ayu.token)
    assert data["me"]["creditAccount"]["availableMinutes"] == 1200
