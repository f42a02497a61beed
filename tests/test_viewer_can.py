"""`viewerCan*` says what the mutation will do: for every viewer and every state, the boolean read
before equals whether the mutation then succeeds (and a refusal writes nothing). Reading the
booleans of a whole page costs no statement per row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.helpers import create_task, create_user, register

ACTIONS = ("Update", "Assign", "Claim", "Start", "Complete", "Cancel")
CAN = """query($id: ID!) { task(id: $id) { status %s } }""" % " ".join(
    f"viewerCan{action}" for action in ACTIONS
)
MUTATIONS = {
    "Update": 'mutation($t: ID!) { taskUpdate(input: {taskId: $t, title: "Renamed"})'
    " { task { id } errors { code } } }",
    "Assign": "mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})"
    " { task { id } errors { code } } }",
    "Claim": "mutation($t: ID!) { taskClaim(input: {taskId: $t}) { task { id } errors { code } } }",
    "Start": "mutation($t: ID!) { taskStart(input: {taskId: $t}) { task { id } errors { code } } }",
    "Complete": "mutation($t: ID!) { taskComplete(input: {taskId: $t})"
    " { task { id } errors { code } } }",
    "Cancel": "mutation($t: ID!) { taskCancel(input: {taskId: $t})"
    " { task { id } errors { code } } }",
}
MANAGERS = {"siti", "root"}
# Who may do what, by state: the rules of SPEC 1's lifecycle (`siti` created every task, `budi`
# is its assignee once assigned, `agus` is another organizer, `dewi` a contributor).
EXPECTED = {
    "OPEN": {"Update": MANAGERS, "Assign": MANAGERS, "Cancel": MANAGERS, "Claim": "everyone"},
    "ASSIGNED": {"Update": MANAGERS, "Assign": MANAGERS, "Cancel": MANAGERS, "Start": {"budi"}},
    "IN_PROGRESS": {"Update": MANAGERS, "Cancel": MANAGERS, "Complete": {"budi"}},
    "COMPLETED": {},
    "CANCELLED": {},
}


def _may(who: set[str] | str, name: str) -> bool:
    return who == "everyone" or name in who


async def _task_in(api, people: dict[str, Any], status: str) -> str:
    siti, budi = people["siti"], people["budi"]
    task_id = (await create_task(api, siti, title="Fix the well"))["id"]
    steps = {
        "ASSIGNED": ["Assign"],
        "IN_PROGRESS": ["Assign", "Start"],
        "COMPLETED": ["Assign", "Start", "Complete"],
        "CANCELLED": ["Cancel"],
    }
    for action in steps.get(status, []):
        who = siti if action in ("Assign", "Cancel") else budi
        result = await _mutate(api, action, task_id, who, assignee=budi)
        assert result["errors"] == [], (status, action, result)
    return task_id


async def _mutate(api, action: str, task_id: str, who, assignee) -> dict[str, Any]:
    data = await api.gql(MUTATIONS[action], {"t": task_id, "u": assignee.id}, who.token)
    return next(iter(data.values()))


async def _can(api, task_id: str, who) -> dict[str, bool]:
    task = (await api.gql(CAN, {"id": task_id}, who.token))["task"]
    return {action: task[f"viewerCan{action}"] for action in ACTIONS}


async def _tasks_snapshot(api) -> list[tuple[Any, ...]]:
    rows = await api.sql("SELECT id, status, assignee_id, title, updated_at FROM tasks")
    return sorted(tuple(row) for row in rows)


async def test_task_viewer_can_equals_what_the_mutation_does(api):
    people = {
        "siti": await create_user(api, "siti", ["organizer"]),
        "agus": await create_user(api, "agus", ["organizer"]),
        "root": await create_user(api, "root", ["admin"]),
        "budi": await register(api, "budi"),
        "dewi": await register(api, "dewi"),
    }
    for status, allowed in EXPECTED.items():
        shared = await _task_in(api, people, status)
        answers = {name: await _can(api, shared, who) for name, who in people.items()}
        expected = {
            name: {action: _may(allowed.get(action, set()), name) for action in ACTIONS}
            for name in people
        }
        assert answers == expected, status

        # Every "false" is a refusal that changes nothing, tried on the same task.
        before = (await api.table_counts(), await _tasks_snapshot(api))
        for name, who in people.items():
            for action in ACTIONS:
                if not answers[name][action]:
                    refused = await _mutate(api, action, shared, who, people["dewi"])
                    assert refused["task"] is None and refused["errors"], (status, name, action)
        assert (await api.table_counts(), await _tasks_snapshot(api)) == before, status

        # Every "true" succeeds, each on a fresh task in the same state.
        for name, who in people.items():
            for action in ACTIONS:
                if answers[name][action]:
                    fresh = await _task_in(api, people, status)
                    assert (await _can(api, fresh, who))[action] is True
                    done = await _mutate(api, action, fresh, who, people["dewi"])
                    assert done["errors"] == [], (status, name, action, done)


CONTRIBUTION_CAN = """query($id: ID!) { contribution(id: $id) {
  viewerCanVerify viewerCanAddEvidence } }"""
CONTRIBUTE = """mutation { contributionCreate(input: {contributionType: CUSTOM, title: "Work"})
  { contribution { id } } }"""
VERIFY = """mutation($c: ID!) { contributionVerify(input: {contributionId: $c, outcome: APPROVED})
  { verification { outcome } errors { code } } }"""
SUBMIT = """mutation($input: EvidenceSubmitInput!) { evidenceSubmit(input: $input) {
  evidence { id } errors { code } } }"""


async def test_contribution_viewer_can_equals_what_the_mutation_does(api):
    people = {
        "budi": await register(api, "budi"),
        "rahmat": await create_user(api, "rahmat", ["verifier"]),
        "root": await create_user(api, "root", ["admin"]),
        "dewi": await register(api, "dewi"),
    }
    mine = {}
    for owner in ("budi", "rahmat"):
        data = await api.gql(CONTRIBUTE, token=people[owner].token)
        mine[owner] = data["contributionCreate"]["contribution"]["id"]
    expected = {
        ("budi", "verify"): {"rahmat", "root"},
        ("budi", "evidence"): {"budi"},
        ("rahmat", "verify"): {"root"},  # a verifier does not verify their own work
        ("rahmat", "evidence"): {"rahmat"},
    }
    for owner, contribution_id in mine.items():
        for name, who in people.items():
            can = (await api.gql(CONTRIBUTION_CAN, {"id": contribution_id}, who.token))[
                "contribution"
            ]
            assert can == {
                "viewerCanVerify": name in expected[(owner, "verify")],
                "viewerCanAddEvidence": name in expected[(owner, "evidence")],
            }, (owner, name)
            before = await api.table_counts()
            verified = (await api.gql(VERIFY, {"c": contribution_id}, who.token))[
                "contributionVerify"
            ]
            assert (verified["errors"] == []) is can["viewerCanVerify"], (owner, name, verified)
            if not can["viewerCanVerify"]:
                assert verified["verification"] is None
                assert await api.table_counts() == before
            witness = {
                "contributionId": contribution_id,
                "evidenceType": "WITNESS_ATTESTATION",
                "timestamp": datetime.now(UTC).isoformat(),
                "witnesses": [{"witnessName": "Pak Joko", "relationship": "PEER"}],
            }
            before = await api.table_counts()
            submitted = (await api.gql(SUBMIT, {"input": witness}, who.token))["evidenceSubmit"]
            assert (submitted["errors"] == []) is can["viewerCanAddEvidence"], (owner, name)
            if not can["viewerCanAddEvidence"]:
                assert await api.table_counts() == before


USER_CAN = "query($id: ID!) { node(id: $id) { ... on User { viewerCanVouch } } }"
VOUCH = """mutation($u: ID!, $s: String) { vouchCreate(input: {voucheeId: $u, skill: $s})
  { vouch { id } errors { code } } }"""


async def test_user_viewer_can_vouch_equals_what_vouch_create_does(api, monkeypatch):
    ayu, budi, dewi = [await register(api, name) for name in ("ayu", "budi", "dewi")]

    async def check(who, target, skill: str, expected: bool) -> None:
        can = (await api.gql(USER_CAN, {"id": target.id}, who.token))["node"]["viewerCanVouch"]
        assert can is expected, (who.username, target.username)
        before = await api.table_counts()
        result = await api.gql(VOUCH, {"u": target.id, "s": skill}, who.token)
        assert (result["vouchCreate"]["errors"] == []) is can, result
        if not can:
            assert await api.table_counts() == before

    await check(ayu, budi, "carpentry", True)
    await check(ayu, ayu, "carpentry", False)  # SELF_VOUCH
    # With a minimum reputation, what Markov said (cached) decides: ayu has 0.7, dewi nothing.
    settings = api.services.settings.model_copy(update={"vouch_min_reputation": 0.5})
    monkeypatch.setattr(api.services, "settings", settings)
    (row,) = await api.sql("SELECT id FROM users WHERE username = 'ayu'")
    await api.sql(
        "INSERT INTO reputation_cache (user_id, score, tier, contributions_count,"
        " vouches_received, skills, cached_at) VALUES (:u, 0.7, 'trusted', 7, 0, '[]', :at)",
        u=row.id,
        at=datetime.now(UTC),
    )
    await check(ayu, dewi, "masonry", True)
    await check(dewi, ayu, "masonry", False)  # REPUTATION_TOO_LOW


PAGE = """query($n: Int!) {
  tasks(first: $n) { edges { node { id %s } } }
  contributions(first: $n) { edges { node { id viewerCanVerify viewerCanAddEvidence } } }
  users(first: $n) { edges { node { id viewerCanVouch } } }
}""" % " ".join(f"viewerCan{action}" for action in ACTIONS)


@pytest.mark.executor
async def test_a_page_of_viewer_can_costs_no_statement_per_row(api, monkeypatch):
    siti = await create_user(api, "siti", ["organizer"])
    workers = [await register(api, f"worker{index}") for index in range(5)]
    for index in range(6):
        await create_task(api, siti, title=f"task {index}")
        await api.gql(CONTRIBUTE, token=workers[index % 5].token)
    settings = api.services.settings.model_copy(update={"vouch_min_reputation": 0.5})
    monkeypatch.setattr(api.services, "settings", settings)  # each row asks the reputation rule
    counts = {}
    for size in (2, 6):
        with api.statements as counter:
            data = await api.gql(PAGE, {"n": size}, siti.token)
        assert [len(data[name]["edges"]) for name in data] == [size] * 3
        counts[size] = counter.count
    assert counts[6] == counts[2], counts
    # Without the viewerCan fields the same page runs three statements fewer: the viewer's roles,
    # the viewer's row and their cached reputation, each read once for the whole page.
    plain = PAGE.replace(" viewerCanVerify viewerCanAddEvidence", "").replace(" viewerCanVouch", "")
    for action in ACTIONS:
        plain = plain.replace(f" viewerCan{action}", "")
    with api.statements as counter:
        await api.gql(plain, {"n": 6}, siti.token)
    assert counts[6] == counter.count + 3, (counts, counter.statements)
