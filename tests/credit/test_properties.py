"""Property-based tests of the ledger (SPEC 9), with Hypothesis, through the GraphQL endpoint.

Random sequences of task creations, assignments, claims, cancellations, completions, verdicts
(approvals and rejections by three verifiers), transfers and limit changes run against one
database. Before each step a model predicts the step's effect from the database as it is (the
error code, or the new balances, reservations and limits); after it, the prediction is checked,
and so are the invariants: all balances sum to zero, no available credit is negative, every
balance is the replay of its postings, every reservation is the sum of what its tasks hold,
and the hash chains verify (the function behind `gotong-gql audit verify`; the CLI itself is
run on chains in tests/credit/test_tamper.py).

Every example starts from the same state: the people (made once, as hashing their passwords is
slow) with untouched accounts, and no task or ledger row, so that a failure replays and shrinks.
Runtime: MAX_EXAMPLES (60) sequences of MIN_STEPS to MAX_STEPS (20 to 40) steps, about 45 s per
engine on this machine (2 busy cores); `--hypothesis-show-statistics` shows what they reached
(about one sequence in six ends a task with a payment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text
from strawberry import relay

from gotong_gql.audit.verify import checkpoints, verify
from gotong_gql.models import metadata
from tests.credit.helpers import ASSIGN, CANCEL, CLAIM, COMPLETE, LIMIT, START, VERIFY, transfer
from tests.helpers import Account, create_task, create_user, json_value, register, uuid_text

MAX_EXAMPLES = 60
MIN_STEPS, MAX_STEPS = 20, 40
PEOPLE = ("siti", "budi", "dewi", "ayu")  # siti creates the tasks (and may claim her own)
ESTIMATES = (None, 0.25, 1, 2.25, 4, 30)  # 30 h is over a default limit
DURATIONS = (0.5, 1, 2, 3.5, 40)
PAYERS = ("CREATOR", "COMMUNITY", "COMMUNITY")  # the community has no limit
VERDICTS = ("APPROVED", "APPROVED", "REJECTED")

person = st.integers(0, len(PEOPLE) - 1)
task = st.integers(0, 3)
minutes = st.one_of(st.integers(1, 400), st.integers(-10, 6100))
# assign and cancel pick any of the newest tasks (state errors included); claim, complete and
# verdict pick among the tasks they can move on (claim: open ones, verdict: completed ones), so
# that short sequences reach verdicts. Weights are repetitions.
step = st.one_of(
    *[st.tuples(st.just("create"), st.sampled_from(PAYERS), st.sampled_from(ESTIMATES))] * 2,
    st.tuples(st.just("assign"), task, person),
    *[st.tuples(st.just("claim"), task, person)] * 2,
    st.tuples(st.just("cancel"), task),
    *[st.tuples(st.just("complete"), task, st.sampled_from(DURATIONS))] * 2,
    *[st.tuples(st.just("verdict"), task, st.sampled_from(VERDICTS))] * 2,
    *[st.tuples(st.just("transfer"), person, person, minutes)] * 2,
    st.tuples(st.just("limit"), person, st.integers(-3000, 200)),
)


@dataclass
class World:
    api: Any
    people: dict[str, Account]
    root: Account
    verifiers: list[Account]
    tasks: list[str] = field(default_factory=list)  # global ids


_worlds: list[World] = []  # the test's, made at its first example


# What an example starts from: the people and their (untouched) accounts, nothing else.
KEPT = {"users", "user_roles", "refresh_tokens", "credit_accounts", "skills", "user_skills"}


async def _fresh(api: Any) -> None:
    """Every example starts from the same state, so that Hypothesis can replay and shrink it."""
    tables = [table.name for table in reversed(metadata.sorted_tables) if table.name not in KEPT]
    async with api.services.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)}"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))
        await connection.execute(
            text(
                "UPDATE credit_accounts SET balance_minutes = 0, reserved_minutes = 0, "
                "limit_minutes = CASE WHEN kind = 'community' THEN NULL ELSE -1200 END"
            )
        )


async def _world(api: Any) -> World:
    await _fresh(api)
    if _worlds and _worlds[-1].api is api:
        _worlds[-1].tasks.clear()
        return _worlds[-1]
    people = {"siti": await create_user(api, "siti", ["organizer"])}
    for name in PEOPLE[1:]:
        people[name] = await register(api, name)
    root = await create_user(api, "root", ["admin"])
    verifiers = [await create_user(api, f"checker{i}", ["verifier"]) for i in range(3)]
    _worlds[:] = [World(api, people, root, verifiers)]
    return _worlds[-1]


@dataclass
class Ledger:
    """The accounts (by owner; `community`) and tasks (by uuid) as the database holds them."""

    accounts: dict[str, list[Any]]  # [balance, reserved, limit]
    tasks: dict[str, dict[str, Any]]


async def _ledger(api: Any) -> Ledger:
    rows = await api.sql(
        "SELECT coalesce(u.username, 'community'), a.balance_minutes, a.reserved_minutes, "
        "a.limit_minutes FROM credit_accounts a LEFT JOIN users u ON u.id = a.user_id"
    )
    accounts = {name: [balance, reserved, limit] for name, balance, reserved, limit in rows}
    accounts.setdefault("community", [0, 0, None])  # made again at its first use
    tasks = {}
    for task_id, *values in await api.sql(
        "SELECT t.id, t.status, t.payer, t.reserved_minutes, t.estimated_hours, u.username, "
        "c.id, c.verification_status, c.metadata FROM tasks t "
        "LEFT JOIN users u ON u.id = t.assignee_id LEFT JOIN contributions c ON c.task_id = t.id"
    ):
        task = dict(
            zip(
                ("status", "payer", "reserved", "hours", "assignee", "contribution", "verdict"),
                values,
                strict=False,
            )
        )
        task["worked"] = (json_value(values[-1]) or {}).get("duration_hours")
        tasks[uuid_text(task_id)] = task
    return Ledger(accounts, tasks)


def _minutes(hours: float | None) -> int:
    return round(hours * 60) if hours else 0  # every number of hours here is whole minutes


def _available(account: list[Any]) -> int | None:
    balance, reserved, limit = account
    return None if limit is None else balance - reserved - limit


def _payer(task: dict[str, Any]) -> str:
    return "community" if task["payer"] == "community" else "siti"


async def _check(api: Any, expected: dict[str, list[Any]]) -> None:
    """The prediction, then the invariants."""
    found = await _ledger(api)
    assert found.accounts == expected
    assert sum(balance for balance, _, _ in found.accounts.values()) == 0
    assert all((_available(account) or 0) >= 0 for account in found.accounts.values())
    replay = await api.sql(
        "SELECT a.balance_minutes, coalesce(sum(p.amount_minutes), 0) FROM credit_accounts a "
        "LEFT JOIN credit_postings p ON p.account_id = a.id GROUP BY a.id, a.balance_minutes"
    )
    assert all(balance == total for balance, total in replay)
    held: dict[str, int] = {}
    for task in found.tasks.values():
        held[_payer(task)] = held.get(_payer(task), 0) + task["reserved"]
    assert {name: reserved for name, (_, reserved, _) in found.accounts.items() if reserved} == {
        name: minutes for name, minutes in held.items() if minutes
    }
    async with api.services.session_factory() as session:
        heads = await checkpoints(session)
        assert await verify(session, lambda chain, rows: None, heads=heads) is None


async def _codes(api: Any, document: str, variables: dict, who: Account, name: str) -> list[str]:
    payload = (await api.gql(document, variables, who.token))[name]
    codes = [error["code"] for error in payload["errors"]]
    event(f"{name}: {codes[0] if codes else 'ok'}")  # --hypothesis-show-statistics
    return codes


def _reserve(accounts: dict[str, list[Any]], task: dict[str, Any]) -> list[str]:
    """Assigning an OPEN task: INSUFFICIENT_CREDIT, or the reservation made."""
    payer = accounts[_payer(task)]
    minutes = _minutes(task["hours"])
    room = _available(payer)
    if room is not None and room < minutes:
        return ["INSUFFICIENT_CREDIT"]
    payer[1] += minutes
    return []


async def _money(api: Any, world: World, accounts: dict[str, list[Any]], action: tuple) -> None:
    people = list(world.people.values())
    if action[0] == "transfer":
        sender, receiver = people[action[1] % len(PEOPLE)], people[action[2] % len(PEOPLE)]
        minutes = action[3]
        account = accounts[sender.username]
        want: list[str] = []
        if sender is receiver:
            want = ["SELF_TRANSFER"]
        elif not 1 <= minutes <= 6000:
            want = ["INVALID_AMOUNT"]
        elif _available(account) < minutes:
            want = ["INSUFFICIENT_CREDIT"]
        else:
            account[0] -= minutes
            accounts[receiver.username][0] += minutes
        got = [
            error["code"] for error in (await transfer(api, sender, receiver, minutes))["errors"]
        ]
        event(f"creditTransfer: {got[0] if got else 'ok'}")
        assert got == want
        return
    who, limit = people[action[1] % len(PEOPLE)], action[2]
    account = accounts[who.username]
    want = []
    if not -600_000 <= limit <= 0:
        want = ["INVALID_AMOUNT"]
    elif account[0] - account[1] < limit:
        want = ["INSUFFICIENT_CREDIT"]
    else:
        account[2] = limit
    assert await _codes(api, LIMIT, {"u": who.id, "l": limit}, world.root, "creditLimitSet") == want


WORKABLE = {
    "claim": ("open",),
    "complete": ("assigned", "in_progress"),
    "verdict": ("completed",),
}


async def _work(api: Any, world: World, model: Ledger, action: tuple) -> None:
    kind, accounts, siti = action[0], model.accounts, world.people["siti"]
    newest = list(reversed(world.tasks))
    candidates = [
        task_id
        for task_id in newest
        if model.tasks[relay.GlobalID.from_id(task_id).node_id]["status"] in WORKABLE.get(kind, ())
    ] or newest
    task_id = candidates[action[1] % len(candidates)]
    task = model.tasks[relay.GlobalID.from_id(task_id).node_id]
    status = task["status"]
    if kind == "assign":
        who = list(world.people.values())[action[2] % len(PEOPLE)]
        want = ["INVALID_TRANSITION"]
        if status in ("open", "assigned") and task["assignee"] != who.username:
            want = _reserve(accounts, task) if status == "open" else []
        variables = {"t": task_id, "u": who.id}
        assert await _codes(api, ASSIGN, variables, siti, "taskAssign") == want
    elif kind == "claim":
        who = list(world.people.values())[action[2] % len(PEOPLE)]
        want = _reserve(accounts, task) if status == "open" else ["INVALID_TRANSITION"]
        assert await _codes(api, CLAIM, {"t": task_id}, who, "taskClaim") == want
    elif kind == "cancel":
        want = ["INVALID_TRANSITION"]
        if status in ("open", "assigned", "in_progress"):
            want = []
            accounts[_payer(task)][1] -= task["reserved"]
        assert await _codes(api, CANCEL, {"t": task_id}, siti, "taskCancel") == want
    elif kind == "complete" and status in ("assigned", "in_progress"):
        worker = world.people[task["assignee"]]
        if status == "assigned":
            assert await _codes(api, START, {"t": task_id}, worker, "taskStart") == []
        variables = {"t": task_id, "h": action[2]}
        assert await _codes(api, COMPLETE, variables, worker, "taskComplete") == []
    elif kind == "verdict" and task["contribution"] is not None:
        verdict = "verified" if action[2] == "APPROVED" else "rejected"
        if verdict != task["verdict"] and task["reserved"]:
            payer = accounts[_payer(task)]
            paid = 0
            if verdict == "verified" and _payer(task) != task["assignee"]:
                paid = min(_minutes(task["worked"]), task["reserved"])
            event(f"settled: {'paid' if paid else 'released'}")
            payer[0] -= paid
            payer[1] -= task["reserved"]
            accounts[task["assignee"]][0] += paid
        contribution = str(relay.GlobalID("Contribution", uuid_text(task["contribution"])))
        for verifier in world.verifiers:
            variables = {"c": contribution, "o": action[2]}
            assert await _codes(api, VERIFY, variables, verifier, "contributionVerify") == []


@pytest.fixture
def settings(settings):
    """Hundreds of operations a minute from one user: the rate limits are not under test."""
    return settings.model_copy(update={"rate_limit_enabled": False})


@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(step, min_size=MIN_STEPS, max_size=MAX_STEPS))
async def test_random_sequences_keep_the_ledger_balanced_and_chained(api, actions):
    world = await _world(api)
    for action in actions:
        model = await _ledger(api)
        if action[0] == "create":
            task = await create_task(
                api, world.people["siti"], payer=action[1], estimatedHours=action[2]
            )
            world.tasks.append(task["id"])
        elif action[0] in ("transfer", "limit"):
            await _money(api, world, model.accounts, action)
        elif world.tasks:
            await _work(api, world, model, action)
        await _check(api, model.accounts)
