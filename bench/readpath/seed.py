"""The data the read benchmarks query: the same on every run (fixed random seeds).

Users, skills and 1,000 tasks (half of them assigned, in every status; pairs share `created_at`
so that the id tie-break matters, 1-3 skills each) come from the seed `bench/tasks_query.py`
always used, unchanged. Around them, from a second random stream: each user's skills, every
task's assignment history and audit trail (created, updated, assigned and reassigned, started,
completed or cancelled), a contribution per completed task plus standalone ones, and vouches.
One user (the profile of the read comparison) has 30 contributions and 25 vouches, more than
the 20 a page shows.

Contributions, vouches, assignments and audit entries get time-ordered ids (UUIDv7 of their
timestamp), as many applications make them: their id order is their time order. PostGraphile's
amber preset only orders by indexed columns (not `created_at` there), so it is asked for the id
order where gotong-gql orders by time and id; the answers are checked to be the same.
"""

from __future__ import annotations

import argparse
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, insert, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from gotong_gql.audit.chain import AUDIT_CHAIN, GENESIS, link_hash

SEED = 20240601
BENCH_USERNAME = "bench_viewer"
BENCH_PASSWORD = "bench-password-not-secret"
SKILL_WORDS = (
    "accounting",
    "carpentry",
    "cleanup",
    "cooking",
    "driving",
    "electronics",
    "first-aid",
    "gardening",
    "masonry",
    "painting",
    "planting",
    "plumbing",
    "sewing",
    "teaching",
    "translation",
    "welding",
)
STANDALONE_TYPES = ("code_review", "documentation", "mentoring", "event_organization", "custom")
VERIFICATION = ("pending", "verified", "rejected")
# Parents before children: the order of the inserts.
TABLES = (
    "users",
    "skills",
    "user_skills",
    "tasks",
    "task_skills",
    "task_assignments",
    "contributions",
    "vouches",
    "audit_log",
)

Rows = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Seeded:
    counts: dict[str, int]
    assigned_tasks: int
    viewer_id: uuid.UUID
    profile_username: str  # the user of the profile query
    detail_task_id: uuid.UUID  # the task of the task-detail query: the longest history
    detail_sizes: dict[str, int]  # its assignments and audit entries


def uuid7(at: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits."""
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64)
    return uuid.UUID(int=value | (0b10 << 62) | rng.getrandbits(62))


def base_rows(rng: random.Random, now: datetime, n_tasks: int, n_users: int) -> Rows:
    """Users, skills, tasks and task skills: the calls on `rng` must stay in this order."""
    from gotong_gql.security import hash_password

    password_hash = hash_password(BENCH_PASSWORD)  # one Argon2 hash, shared: only login reads it
    users = []
    for index in range(n_users + 1):
        user_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        username = BENCH_USERNAME if index == 0 else f"user_{index:04d}"
        created = now - timedelta(days=90, minutes=index)
        users.append(
            {
                "id": user_id,
                "username": username,
                "email": f"{username}@bench.example.org",
                "password_hash": password_hash,
                "markov_user_id": f"gotong_royong:{user_id}",
                "bio": None,
                "location": None,
                "avatar_url": None,
                "created_at": created,
                "updated_at": created,
            }
        )
    people = [user["id"] for user in users[1:]]
    creators = people[: max(1, len(people) // 5)]
    skills = [
        {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "name": name,
            "category": None,
            "description": None,
            "created_at": now - timedelta(days=90),
        }
        for name in SKILL_WORDS
    ]
    tasks, task_skills = [], []
    start = now - timedelta(days=60)
    for index in range(n_tasks):
        task_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        created = start + timedelta(minutes=7 * (index // 2))
        status = rng.choices(
            ("open", "assigned", "in_progress", "completed", "cancelled"), (4, 2, 2, 1, 1)
        )[0]
        assigned = status in ("assigned", "in_progress", "completed")
        tasks.append(
            {
                "id": task_id,
                "creator_id": rng.choice(creators),
                "assignee_id": rng.choice(people) if assigned else None,
                "title": f"Task {index:04d}: {rng.choice(SKILL_WORDS)} for the neighbourhood",
                "description": "Bring gloves and water.",
                "status": status,
                "difficulty": rng.choice((None, "easy", "intermediate", "hard")),
                "location": None,
                "latitude": None,
                "longitude": None,
                "estimated_hours": rng.choice((None, 1.0, 2.5, 4.0, 8.0)),
                "metadata": {"source": "bench"},
                "created_at": created,
                "updated_at": created,
                "completed_at": created + timedelta(hours=3) if status == "completed" else None,
            }
        )
        for skill in rng.sample(skills, rng.randint(1, 3)):
            task_skills.append({"task_id": task_id, "skill_id": skill["id"]})
    return {"users": users, "skills": skills, "tasks": tasks, "task_skills": task_skills}


def audit(
    rng: random.Random,
    task: dict[str, Any],
    action: str,
    at: datetime,
    actor: uuid.UUID,
    after: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": uuid7(at, rng),
        "actor_id": actor,
        "action": action,
        "entity": "task",
        "entity_id": task["id"],
        "before": None,
        "after": after,
        "request_id": f"seed-{action}-{at:%Y%m%d%H%M}",
        "at": at,
    }


def task_history(
    rng: random.Random, task: dict[str, Any], people: list[uuid.UUID], rows: Rows
) -> None:
    """A task's assignments, audit entries and (completed) contribution, as its lifecycle made
    them: created, updated, assigned (earlier assignees reassigned), started, done."""
    created, creator, status = task["created_at"], task["creator_id"], task["status"]
    entries = [audit(rng, task, "task.create", created, creator, {"status": "open"})]
    for step in range(rng.choice((0, 0, 1, 2, 3))):
        hours = rng.choice((1.0, 2.5, 4.0, 8.0))
        at = created + timedelta(minutes=5 * (step + 1))
        entries.append(audit(rng, task, "task.update", at, creator, {"estimated_hours": hours}))
    assignee = task["assignee_id"]
    if assignee is not None:
        others = [person for person in people if person != assignee]
        earlier = rng.sample(others, rng.choices((0, 1, 2), (5, 3, 2))[0])
        times = [created + timedelta(minutes=30 * (step + 1)) for step in range(len(earlier) + 1)]
        for step, user in enumerate([*earlier, assignee]):
            last = step == len(earlier)
            state = ("completed" if status == "completed" else "active") if last else "reassigned"
            done = task["completed_at"] if last else times[step + 1]
            rows["task_assignments"].append(
                {
                    "id": uuid7(times[step], rng),
                    "task_id": task["id"],
                    "user_id": user,
                    "assigned_by_id": creator,
                    "assigned_at": times[step],
                    "completed_at": done,
                    "status": state,
                }
            )
            after = {"status": "assigned", "assignee_id": str(user)}
            entries.append(audit(rng, task, "task.assign", times[step], creator, after))
        if status in ("in_progress", "completed"):
            started = created + timedelta(hours=2)
            entries.append(audit(rng, task, "task.start", started, assignee, {"status": status}))
    if status == "completed":
        at = task["completed_at"]
        contribution = contribution_row(rng, assignee, at, "task_completion", task["title"])
        contribution["task_id"] = task["id"]
        rows["contributions"].append(contribution)
        after = {"status": "completed", "contribution_id": str(contribution["id"])}
        entries.append(audit(rng, task, "task.complete", at, assignee, after))
    if status == "cancelled":
        at = created + timedelta(hours=1)
        entries.append(audit(rng, task, "task.cancel", at, creator, {"status": "cancelled"}))
    rows["audit_log"].extend(entries)


def contribution_row(
    rng: random.Random, user: uuid.UUID, at: datetime, kind: str, title: str
) -> dict[str, Any]:
    return {
        "id": uuid7(at, rng),
        "user_id": user,
        "task_id": None,
        "contribution_type": kind,
        "title": title,
        "description": "Two afternoons, with photos.",
        "evidence_url": None,
        "verification_status": rng.choice(VERIFICATION),
        "evidence_quality_score": None,
        "metadata": {"hours": rng.choice((1, 2, 4))},
        "created_at": at,
        "updated_at": at,
    }


def around_rows(rng: random.Random, now: datetime, rows: Rows) -> None:
    """Everything else, from its own random stream (so that the base rows never change)."""
    users, skills = rows["users"], rows["skills"]
    people = [user["id"] for user in users[1:]]
    rows.update(user_skills=[], task_assignments=[], contributions=[], vouches=[], audit_log=[])
    for user in users:
        for skill in rng.sample(skills, rng.randint(2, 8)):
            rows["user_skills"].append(
                {
                    "user_id": user["id"],
                    "skill_id": skill["id"],
                    "proficiency": round(rng.random(), 3),
                    "endorsements_count": rng.randint(0, 12),
                    "created_at": user["created_at"],
                }
            )
    for task in rows["tasks"]:
        task_history(rng, task, people, rows)
    for index, user in enumerate(users[1:]):
        profile = index == 0
        for number in range(30 if profile else rng.randint(0, 5)):
            at = now - timedelta(minutes=rng.randint(60, 60 * 24 * 60))
            kind = rng.choice(STANDALONE_TYPES)
            title = f"{kind.replace('_', ' ').capitalize()} #{number} by {user['username']}"
            rows["contributions"].append(contribution_row(rng, user["id"], at, kind, title))
        others = [person for person in people if person != user["id"]]
        for voucher in rng.sample(others, 25 if profile else rng.choice((0, 0, 1, 2, 3, 5))):
            at = now - timedelta(minutes=rng.randint(60, 60 * 24 * 60))
            skill = rng.choice((None, *skills))
            rows["vouches"].append(
                {
                    "id": uuid7(at, rng),
                    "voucher_id": voucher,
                    "vouchee_id": user["id"],
                    "skill_id": None if skill is None else skill["id"],
                    "weight_hint": rng.choice((None, "strong", "moderate", "light")),
                    "message": rng.choice((None, "Reliable and kind.", "Taught me a lot.")),
                    "created_at": at,
                }
            )


def chain_audit_log(entries: list[dict[str, Any]]) -> tuple[int, str]:
    """Number and hash the entries in time order, as the app's units of work do
    (gotong_gql/audit/chain.py): `seq` and the hashes are NOT NULL. The chain's head."""
    seq, prev = 0, GENESIS
    entries.sort(key=lambda entry: (entry["at"], entry["id"]))
    for entry in entries:
        seq += 1
        digest = link_hash(entry, seq, prev)
        entry.update(seq=seq, prev_hash=prev, hash=digest)
        prev = digest
    return seq, prev


def seed_rows(n_tasks: int, n_users: int) -> tuple[Rows, Seeded]:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = base_rows(random.Random(SEED), now, n_tasks, n_users)
    around_rows(random.Random(SEED + 1), now, rows)
    head_seq, head_hash = chain_audit_log(rows["audit_log"])
    rows["audit_chain_heads"] = [{"chain": AUDIT_CHAIN, "seq": head_seq, "hash": head_hash}]
    history = Counter(entry["entity_id"] for entry in rows["audit_log"])
    assignments = Counter(assignment["task_id"] for assignment in rows["task_assignments"])
    detail = max(rows["tasks"], key=lambda task: (history[task["id"]], task["created_at"]))
    seeded = Seeded(
        counts={table: len(rows[table]) for table in TABLES},
        assigned_tasks=sum(task["assignee_id"] is not None for task in rows["tasks"]),
        viewer_id=rows["users"][0]["id"],
        profile_username=rows["users"][1]["username"],
        detail_task_id=detail["id"],
        detail_sizes={"assignments": assignments[detail["id"]], "history": history[detail["id"]]},
    )
    return rows, seeded


def seed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", type=int, default=1000, help="tasks to seed (50..100000)")
    parser.add_argument(
        "--users", type=int, default=200, help="users to seed, plus the viewer (30..100000)"
    )


def check_seed_arguments(args: argparse.Namespace) -> str | None:
    """The page of 50 tasks needs 50; the profile's 25 vouchers need 26 other users."""
    if not 50 <= args.tasks <= 100_000 or not 30 <= args.users <= 100_000:
        return "--tasks is 50..100000 and --users 30..100000"
    return None


async def seed(url: str, n_tasks: int, n_users: int) -> Seeded:
    """Inserts the rows (SQLAlchemy core, tables reflected from the migrated database), then
    ANALYZE, so that every server starts with the same statistics."""
    rows, seeded = seed_rows(n_tasks, n_users)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            metadata = MetaData()
            await connection.run_sync(
                lambda sync: metadata.reflect(sync, only=(*TABLES, "audit_chain_heads"))
            )
            for table in TABLES:
                if rows[table]:
                    await connection.execute(insert(metadata.tables[table]), rows[table])
            # The migration made the chain's head at seq 0; it moves to the last seeded entry.
            heads = metadata.tables["audit_chain_heads"]
            for head in rows["audit_chain_heads"]:
                await connection.execute(
                    update(heads)
                    .where(heads.c.chain == head["chain"])
                    .values(seq=head["seq"], hash=head["hash"], at=datetime.now(UTC))
                )
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return seeded
