"""Argument values for the corpus: every argument of every root field, pages and real cursors.

`Arguments.variants(field)` lists, for one root field of Query, argument sets that together use
every argument and every field of its filter inputs: real ids of seeded rows of each type, ids
that name nothing (a fresh uuid), ids of another type, malformed ids; every order field in both
directions; `near`; pages forwards and backwards, with cursors taken from the reference app's
answers (`harvest`), a cursor of another connection or order, forged and malformed cursors; and
the mistakes the resolvers refuse (no `first`/`last` on a root connection, both, 0, 101).
`Arguments.page(key)` draws one page for a connection (nested ones too).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from typing import Any

from strawberry import relay

from tests.compiler.seed import Seed

NEAR = {"latitude": -7.7956, "longitude": 110.3695, "radiusKm": 25.0}
NODE_TYPES = ["User", "Task", "Contribution", "Evidence", "Verification", "Vouch", "Skill"]
TASK_ORDERS = ["CREATED_AT", "UPDATED_AT", "TITLE", "ESTIMATED_HOURS", "DISTANCE"]
# Connections below an object, by type: what `harvest` reads their cursors from.
NESTED = {
    "Task": ["assignments", "history"],
    "Contribution": ["evidence", "verifications"],
    "User": ["contributions", "vouchesReceived", "vouchesGiven", "tasksCreated", "tasksAssigned"],
}
ROOT_CONNECTIONS = [
    "users",
    "skills",
    "tasks",
    "contributions",
    "vouches",
    "webhookEvents",
    "webhookFailures",
    "creditEntries",
]


def b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_key(coordinate: str, args: dict[str, Any]) -> str:
    """Which harvested cursors suit a connection with these arguments: they name its order."""
    if coordinate == "Query.tasks":
        order = args.get("orderBy") or {}
        field = order.get("field", "CREATED_AT")
        return f"Query.tasks:{field}:{order.get('direction', 'DESC')}"
    if coordinate == "Query.users" and (args.get("filter") or {}).get("skill"):
        return "Query.users:skill"
    return coordinate


def harvest_queries(seed: Seed) -> list[tuple[str, str, dict[str, Any]]]:
    """(cursor key, document, variables) read as admin; each answer's `edges { cursor }`, at
    any depth, are that key's cursors in connection order."""
    edges = "edges { cursor }"
    queries = []
    for name in ROOT_CONNECTIONS:
        if name != "tasks":
            queries.append((f"Query.{name}", f"{{ c: {name}(first: 100) {{ {edges} }} }}", {}))
    queries.append(
        (
            "Query.users:skill",
            f'{{ users(first: 100, filter: {{skill: "cleanup"}}) {{ {edges} }} }}',
            {},
        )
    )
    entries = f"query($a: ID) {{ creditEntries(first: 100, accountId: $a) {{ {edges} }} }}"
    queries.append(("Query.creditEntries", entries, {"a": seed.credit_accounts["budi"]}))
    for field in TASK_ORDERS:
        for direction in ("ASC", "DESC"):
            near = "filter: {near: $near}, " if field == "DISTANCE" else ""
            document = (
                "query($near: NearInput) { tasks(first: 100, "
                f"{near}orderBy: {{field: {field}, direction: {direction}}}) {{ {edges} }} }}"
            )
            variables = {"near": NEAR} if near else {}
            if not near:
                document = document.replace("($near: NearInput)", "")
            queries.append((f"Query.tasks:{field}:{direction}", document, variables))
    for type_name, fields in NESTED.items():
        for field in fields:
            document = (
                f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on {type_name} {{ "
                f"{field}(first: 100) {{ {edges} }} }} }} }}"
            )
            queries.append((f"{type_name}.{field}", document, {"ids": seed.ids(type_name)}))
    return queries


def collect_cursors(answer: Any) -> list[str]:
    """Every `cursor` in an answer, in document order."""
    found: list[str] = []
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key == "cursor" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(collect_cursors(value))
    elif isinstance(answer, list):
        for item in answer:
            found.extend(collect_cursors(item))
    return found


class Arguments:
    def __init__(self, seed: Seed, cursors: dict[str, list[str]], rng: random.Random) -> None:
        self.seed = seed
        self.cursors = cursors
        self.rng = rng

    # ids -----------------------------------------------------------------------------------

    def unknown_id(self, type_name: str) -> str:
        return str(relay.GlobalID(type_name, str(uuid.UUID(int=self.rng.getrandbits(128)))))

    def bad_ids(self, type_name: str) -> list[str]:
        """Ids that name no visible row of `type_name`: of no row, of another type, malformed."""
        other = "Skill" if type_name != "Skill" else "Task"
        return [
            self.unknown_id(type_name),
            self.seed.ids(other)[0],
            "not-an-id",
            "",
            base64.b64encode(f"{type_name}:not-a-uuid".encode()).decode(),
            self.unknown_id("AuditEntry"),
        ]

    def some_id(self, type_name: str, bad: float = 0.15) -> str:
        if self.rng.random() < bad:
            return self.rng.choice(self.bad_ids(type_name))
        return self.rng.choice(self.seed.ids(type_name))

    # pages ---------------------------------------------------------------------------------

    def cursor(self, key: str, other: float = 0.08) -> str:
        """A real cursor of `key`, now and then one of another connection or a forged one."""
        roll = self.rng.random()
        if roll < other / 2 and self.cursors:
            return self.rng.choice(self.cursors[self.rng.choice(sorted(self.cursors))] or ["x"])
        if roll < other:
            return self.rng.choice(self.forged())
        return self.rng.choice(self.cursors.get(key) or ["no-cursor-harvested"])

    def forged(self) -> list[str]:
        row = str(uuid.UUID(int=self.rng.getrandbits(128)))
        return [
            b64url(json.dumps(["Task", "TITLE_ASC", "zzz", row], separators=(",", ":"))),
            b64url(json.dumps(["Task", "NOPE_ASC", row], separators=(",", ":"))),
            "not a cursor",
            "",
        ]

    def pages(self, key: str, root: bool) -> list[dict[str, Any]]:
        """One of each kind of page for the connection of `key`, mistakes included."""
        cursors = self.cursors.get(key) or []
        middle = cursors[len(cursors) // 2] if cursors else "none"
        last = cursors[-1] if cursors else "none"
        first = cursors[0] if cursors else "none"
        return [
            {"first": 3},
            {"last": 2},
            {"first": 2, "after": middle},
            {"last": 3, "before": middle},
            {"first": 5, "after": first, "before": last},
            {"last": 1, "after": first},
            {"first": 2, "after": last},
            {} if root else {"before": middle},
            {"first": 0},
            {"first": 101},
            {"first": 2, "last": 2},
            {"first": 2, "after": self.rng.choice(self.forged())},
        ]

    def page(self, key: str, root: bool) -> dict[str, Any]:
        """A random page: mostly valid, small, with real cursors."""
        roll = self.rng.random()
        size = self.rng.choice([1, 2, 3, 5])
        if roll < 0.04:
            return self.rng.choice(self.pages(key, root)[-5:])
        if roll < 0.3 and not root:
            return {}
        page: dict[str, Any] = {"last" if roll > 0.75 else "first": size}
        if self.rng.random() < 0.4:
            page["before" if "last" in page else "after"] = self.cursor(key)
        if self.rng.random() < 0.08:
            page["after" if "last" in page else "before"] = self.cursor(key)
        return page

    # root fields ---------------------------------------------------------------------------

    def filters(self, name: str) -> list[dict[str, Any]]:
        """Filter (and other non-page) argument sets of one root connection, each filter field
        alone at least once, then some combinations."""
        seed, users, tasks = self.seed, self.seed.users, self.seed.tasks
        if name == "users":
            return [
                {"filter": {"search": "river"}},
                {"filter": {"search": "BU"}},
                {"filter": {"skill": "carpentry"}},
                {"filter": {"skill": "no-such-skill"}},
                {"filter": {"search": "teach", "skill": "teaching"}},
            ]
        if name == "skills":
            return [{"search": "ca"}, {"search": "ING"}, {"search": "zzz"}, {"search": None}]
        if name == "tasks":
            return [
                {"filter": {"status": ["OPEN"]}},
                {"filter": {"status": ["ASSIGNED", "IN_PROGRESS", "COMPLETED", "CANCELLED"]}},
                {"filter": {"status": []}},
                {"filter": {"skills": ["carpentry"]}},
                {"filter": {"skills": ["cleanup", "electronics", "unknown-skill"]}},
                {"filter": {"creatorId": users["siti"]}},
                {"filter": {"creatorId": self.unknown_id("User")}},
                {"filter": {"assigneeId": users["budi"]}},
                {"filter": {"assigneeId": "not-an-id"}},
                {"filter": {"near": NEAR}},
                {"filter": {"near": {**NEAR, "radiusKm": 2000}}},
                {"filter": {"near": {**NEAR, "radiusKm": 0}}},
                {"filter": {"near": {"latitude": 95, "longitude": 0, "radiusKm": 5}}},
                {"filter": {"search": "river"}},
                {"filter": {"search": "%"}},
                {"filter": {"search": "fence", "status": ["IN_PROGRESS"], "skills": ["painting"]}},
                {"filter": {"creatorId": users["joko"], "assigneeId": users["eko"]}},
                *[
                    {"orderBy": {"field": field, "direction": direction}}
                    | ({"filter": {"near": NEAR}} if field == "DISTANCE" else {})
                    for field in TASK_ORDERS
                    for direction in ("ASC", "DESC")
                ],
                {"orderBy": {"field": "DISTANCE"}},
                {"orderBy": {}},
                {"orderBy": {"direction": "ASC"}, "filter": {"status": ["OPEN", "ASSIGNED"]}},
            ]
        if name == "contributions":
            return [
                {"filter": {"userId": users["budi"]}},
                {"filter": {"userId": users["admin"]}},
                {"filter": {"taskId": tasks["completed"]}},
                {"filter": {"taskId": self.unknown_id("Task")}},
                {"filter": {"verificationStatus": "VERIFIED"}},
                {"filter": {"verificationStatus": "PENDING"}},
                {"filter": {"contributionType": "TASK_COMPLETION"}},
                {"filter": {"contributionType": "MENTORING", "verificationStatus": "VERIFIED"}},
            ]
        if name == "vouches":
            return [
                {"filter": {"voucherId": users["budi"]}},
                {"filter": {"voucheeId": users["budi"]}},
                {"filter": {"voucheeId": "not-an-id"}},
                {"filter": {"skill": "teaching"}},
                {"filter": {"skill": "no-such-skill"}},
                {"filter": {"voucherId": users["eko"], "voucheeId": users["budi"]}},
            ]
        if name == "webhookEvents":
            states = ["PENDING", "PROCESSING", "DELIVERED", "FAILED"]
            kinds = ["CONTRIBUTION_CREATED", "VOUCH_SUBMITTED", "POR_EVIDENCE"]
            return [
                *({"filter": {"status": state}} for state in states),
                *({"filter": {"eventType": kind}} for kind in kinds),
                {"filter": {"status": "FAILED", "eventType": "VOUCH_SUBMITTED"}},
            ]
        if name == "webhookFailures":
            return [{"includeReplayed": True}, {"includeReplayed": False}]
        if name == "creditEntries":
            return [
                {"accountId": seed.credit_accounts["budi"]},
                {"accountId": seed.credit_accounts["siti"]},
                {"accountId": seed.credit_accounts["community"]},
                {"accountId": self.unknown_id("CreditAccount")},
                {"accountId": seed.users["budi"]},
                {"accountId": None},
            ]
        raise KeyError(name)

    def variants(self, name: str) -> list[dict[str, Any]]:
        """Argument sets of the root field `name` that, together, use all its arguments."""
        seed = self.seed
        if name == "node":
            real = [{"id": seed.ids(type_name)[-1]} for type_name in NODE_TYPES]
            real.append({"id": seed.credit_accounts["budi"]})
            real.append({"id": seed.evidence["photo"]})
            return real + [{"id": bad} for bad in self.bad_ids("Task")]
        if name == "nodes":
            mixed = [seed.ids(type_name)[0] for type_name in NODE_TYPES]
            return [
                {"ids": [*mixed, seed.credit_accounts["community"]]},
                {"ids": []},
                {"ids": [mixed[1], *self.bad_ids("Task")[:4], mixed[1]]},
                {"ids": list(seed.evidence.values())},
            ]
        if name in ("task", "contribution", "evidence"):
            type_name = name.capitalize()
            return [{"id": value} for value in seed.ids(type_name)[:3] + self.bad_ids(type_name)]
        if name == "user":
            return [
                {"by": {"id": seed.users["budi"]}},
                {"by": {"id": seed.users["admin"]}},
                {"by": {"username": "DeWi"}},
                {"by": {"username": "nobody"}},
                {"by": {"id": seed.tasks["open"]}},
                {"by": {"id": "not-an-id"}},
                {"by": {"id": seed.users["siti"], "username": "siti"}},
                {"by": {}},
            ]
        if name in ROOT_CONNECTIONS:
            default = self.filters(name)[0] if name == "creditEntries" else {}
            key = cursor_key(f"Query.{name}", default)
            pages = [default | page for page in self.pages(key, root=True)]
            filters = [{"first": 5} | args for args in self.filters(name)]
            if name == "tasks":
                for args in filters[:]:
                    key = cursor_key("Query.tasks", args)
                    if "orderBy" in args and self.cursors.get(key):
                        filters.append(args | {"first": 2, "after": self.cursor(key, other=0)})
                        filters.append(
                            args | {"last": 2, "first": None, "before": self.cursor(key, other=0)}
                        )
            return pages + filters
        return [{}]

    def random(self, name: str) -> dict[str, Any]:
        """A random argument set of the root field `name` (a random filter and page)."""
        if name not in ROOT_CONNECTIONS:
            return self.rng.choice(self.variants(name))
        args = dict(self.rng.choice(self.filters(name))) if self.rng.random() < 0.6 else {}
        args.update(self.page(cursor_key(f"Query.{name}", args), root=True))
        return args
