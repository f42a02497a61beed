"""`tasks` pages stably in every order, forwards and backwards, while another client creates
and deletes tasks between pages: no duplicates, no gap, totalCount right on every page."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, update

from gotong_gql.task.models import Task
from tests.helpers import create_task, create_user
from tests.pagination.helpers import (
    ARGS,
    PAGE,
    VARS,
    add,
    both_ways,
    node_uuid,
    ordered,
    run_sql,
    walk,
)

QUERY = (
    f"query({VARS}, $filter: TaskFilterInput, $orderBy: TaskOrderInput) "
    f"{{ tasks({ARGS}, filter: $filter, orderBy: $orderBy) {{ {PAGE % 'id'} }} }}"
)
CENTER = (-7.7956, 110.3695)
NEAR = {"latitude": CENTER[0], "longitude": CENTER[1], "radiusKm": 100}
BASE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    id: uuid.UUID
    title: str
    created_at: datetime
    updated_at: datetime
    hours: float | None
    place: tuple[float, float] | None

    @property
    def distance(self) -> float | None:
        if self.place is None:
            return None
        lat1, lon1, lat2, lon2 = map(math.radians, (*self.place, *CENTER))
        a = (
            math.sin((lat1 - lat2) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon1 - lon2) / 2) ** 2
        )
        return 2 * 6371.0088 * math.asin(math.sqrt(a))

    def values(self) -> dict:
        return {
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "estimated_hours": self.hours,
            "latitude": self.place[0] if self.place else None,
            "longitude": self.place[1] if self.place else None,
        }


# Ties in every key (broken by the id), NULL hours, tasks without a place, one far away.
SHAPES = [
    ("alpha", 5, 2, 2.5, (-7.80, 110.37)),
    ("bravo", 3, 2, None, (-7.80, 110.37)),
    ("bravo", 3, 9, 1.0, None),
    ("charlie", 9, 4, 2.5, (-7.70, 110.40)),
    ("delta", 1, 4, None, (-7.60, 110.50)),
    ("delta", 1, 4, 0.75, (-7.80, 110.37)),
    ("delta", 7, 1, 10.0, (-6.2088, 106.8456)),
    ("echo", 2, 8, 2.5, (-7.90, 110.30)),
    ("foxtrot", 8, 6, None, None),
    ("golf", 3, 3, 1.0, (-7.75, 110.45)),
    ("hotel", 6, 5, 3.0, (-7.85, 110.20)),
    ("india", 4, 4, 0.1, (-7.65, 110.25)),
]
SORTS = {
    "CREATED_AT": lambda row: row.created_at,
    "UPDATED_AT": lambda row: row.updated_at,
    "TITLE": lambda row: row.title,
    "ESTIMATED_HOURS": lambda row: row.hours,
    "DISTANCE": lambda row: row.distance,
}
ORDERS = [(field, direction) for field in SORTS for direction in ("ASC", "DESC")]


def shown(row: Row, field: str) -> bool:
    """Ordering by distance needs the `near` filter (100 km): tasks without a place are out."""
    return field != "DISTANCE" or (row.distance is not None and row.distance <= 100)


def expected(board: list[Row], field: str, direction: str) -> list[str]:
    chosen = [row for row in board if shown(row, field)]
    descending = direction == "DESC"
    return [
        row.id for row in ordered(chosen, (SORTS[field], descending), (lambda r: r.id, descending))
    ]


async def place(api, task_id: uuid.UUID, row: Row) -> Row:
    await run_sql(api, update(Task).where(Task.id == task_id).values(**row.values()))
    return replace(row, id=task_id)


@pytest.fixture
async def board(api):
    siti = await create_user(api, "siti", ["organizer"])
    creator = node_uuid(siti.id)
    rows = [
        Row(
            uuid.uuid4(),
            title,
            BASE + timedelta(minutes=created),
            BASE + timedelta(hours=updated),
            hours,
            where,
        )
        for title, created, updated, hours, where in SHAPES
    ]
    await add(api, *(Task(id=row.id, creator_id=creator, **row.values()) for row in rows))
    return siti, rows


def variables(field: str, direction: str) -> dict:
    near = {"near": NEAR} if field == "DISTANCE" else None
    return {"filter": near, "orderBy": {"field": field, "direction": direction}}


async def test_every_order_pages_the_same_forwards_and_backwards(api, board):
    siti, rows = board
    for field, direction in ORDERS:
        for size in (1, 3, 5):
            keys = await both_ways(
                api,
                siti.token,
                QUERY,
                ["tasks"],
                size=size,
                identity=lambda node: node_uuid(node["id"]),
                variables=variables(field, direction),
            )
            assert keys == expected(rows, field, direction), (field, direction, size)


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize(("field", "direction"), ORDERS)
async def test_pages_hold_while_another_client_creates_and_deletes(
    api, board, field, direction, backward
):
    siti, initial = board
    agus = await create_user(api, "agus", ["organizer"])
    # One new task at each end of every order, so a walk in either direction meets one.
    extremes = [
        Row(
            uuid.uuid4(),
            "aaaa",
            BASE - timedelta(days=400),
            BASE - timedelta(days=400),
            0.01,
            CENTER,
        ),
        Row(
            uuid.uuid4(),
            "zzzz",
            BASE + timedelta(days=400),
            BASE + timedelta(days=400),
            9999.0,
            (-7.5, 110.5),
        ),
    ]
    current = {row.id: row for row in initial}
    created: set[uuid.UUID] = set()
    deleted: set[uuid.UUID] = set()
    unread_victims: set[uuid.UUID] = set()

    async def churn(seen: list[uuid.UUID]) -> None:
        """Between pages, in turn: a new task at each end of the order (an offset would then
        repeat a row), or two tasks deleted, one already read (an offset would then skip a row)
        and one not read yet."""
        if len(created) <= len(deleted):
            for shape in extremes:
                task = await create_task(api, agus, title=shape.title)
                row = await place(api, node_uuid(task["id"]), shape)
                current[row.id] = row
                created.add(row.id)
            return
        read = [key for key in seen if key in current and key not in created]
        unread = [
            key
            for key, row in current.items()
            if key not in seen and key not in created and shown(row, field)
        ]
        # Never the last unread one: the next page would then rightly be empty.
        ahead = unread[:1] if len(unread) > 1 else []
        unread_victims.update(ahead)
        for victim in [read[len(read) // 2], *ahead]:
            await run_sql(api, delete(Task).where(Task.id == victim))
            del current[victim]
            deleted.add(victim)

    async def total() -> int:
        return len([row for row in current.values() if shown(row, field)])

    result = await walk(
        api,
        siti.token,
        QUERY,
        ["tasks"],
        size=2,
        backward=backward,
        identity=lambda node: node_uuid(node["id"]),
        variables=variables(field, direction),
        total=total,
        between=churn,
    )
    assert deleted and created
    assert len(result.keys) == len(set(result.keys))
    survivors = [key for key in expected(initial, field, direction) if key not in deleted]
    assert [key for key in result.keys if key in survivors] == survivors
    assert set(result.keys) <= {row.id for row in initial} | created
    assert not set(result.keys) & unread_victims
