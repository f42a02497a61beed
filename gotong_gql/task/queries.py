"""What the task lists show and in which order (paged by keyset.py)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, or_, select

from gotong_gql.errors import DomainError
from gotong_gql.keyset import Key, Listing, Order
from gotong_gql.rows import rows_of
from gotong_gql.skill.models import Skill
from gotong_gql.skill.service import normalise_skill_names
from gotong_gql.task.codes import TaskErrorCode
from gotong_gql.task.models import Task, TaskAssignment, TaskSkill

EARTH_RADIUS_KM = 6371.0088
ORDER_KEYS: dict[str, tuple[Any, Literal["timestamp", "text", "float"], bool]] = {
    # field: (column, cursor kind, may be NULL)
    "created_at": (Task.created_at, "timestamp", False),
    "updated_at": (Task.updated_at, "timestamp", False),
    "title": (Task.title, "text", False),
    "estimated_hours": (Task.estimated_hours, "float", True),
}
ASSIGNMENT_ORDER = Order(
    "TaskAssignment",
    "ASSIGNED_AT_ASC",
    (Key(TaskAssignment.assigned_at, "timestamp"), Key(TaskAssignment.id, "uuid")),
)


@dataclass(frozen=True)
class Near:
    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True)
class TaskFilter:
    statuses: list[str] | None = None
    skills: list[str] | None = None
    creator_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    near: Near | None = None
    search: str | None = None


@dataclass(frozen=True)
class TaskOrder:
    field: Literal["created_at", "updated_at", "title", "estimated_hours", "distance"] = (
        "created_at"
    )
    descending: bool = True


def distance_km(latitude: float, longitude: float) -> ColumnElement[float]:
    """Great-circle distance from a point to each task (haversine), in SQL on both engines."""
    lat1, lon1 = func.radians(Task.latitude), func.radians(Task.longitude)
    lat2, lon2 = math.radians(latitude), math.radians(longitude)
    half_dlat = func.sin((lat1 - lat2) / 2)
    half_dlon = func.sin((lon1 - lon2) / 2)
    a = half_dlat * half_dlat + func.cos(lat1) * math.cos(lat2) * half_dlon * half_dlon
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(a))


def _near_conditions(near: Near) -> list[ColumnElement[bool]]:
    # A bounding box first (an index can serve it), then the exact distance.
    lat_delta = math.degrees(near.radius_km / EARTH_RADIUS_KM)
    conditions = [
        Task.latitude.is_not(None),
        Task.latitude.between(near.latitude - lat_delta, near.latitude + lat_delta),
    ]
    cos_lat = math.cos(math.radians(near.latitude))
    if cos_lat > 1e-6 and lat_delta < 90:
        lon_delta = math.degrees(near.radius_km / (EARTH_RADIUS_KM * cos_lat))
        if lon_delta < 180:
            low, high = near.longitude - lon_delta, near.longitude + lon_delta
            if low < -180:
                conditions.append(or_(Task.longitude >= low + 360, Task.longitude <= high))
            elif high > 180:
                conditions.append(or_(Task.longitude >= low, Task.longitude <= high - 360))
            else:
                conditions.append(Task.longitude.between(low, high))
    conditions.append(distance_km(near.latitude, near.longitude) <= near.radius_km)
    return conditions


def task_order(order: TaskOrder, near: Near | None) -> Order:
    """The order's key, then the id in the same direction. The distance is the computed
    expression itself, so a cursor holds exactly the value that the next query compares."""
    if order.field == "distance":
        if near is None:
            raise DomainError(
                TaskErrorCode.INVALID_INPUT,
                "ordering by distance needs the near filter",
                "orderBy.field",
            )
        column, kind, nullable = distance_km(near.latitude, near.longitude), "float", True
    else:
        column, kind, nullable = ORDER_KEYS[order.field]
    direction = "DESC" if order.descending else "ASC"
    return Order(
        "Task",
        f"{order.field.upper()}_{direction}",
        (
            Key(column, kind, order.descending, nullable),
            Key(Task.id, "uuid", order.descending),
        ),
    )


def task_listing(task_filter: TaskFilter, order: TaskOrder) -> Listing:
    conditions: list[ColumnElement[bool]] = []
    if task_filter.statuses:
        conditions.append(Task.status.in_(task_filter.statuses))
    if task_filter.creator_id:
        conditions.append(Task.creator_id == task_filter.creator_id)
    if task_filter.assignee_id:
        conditions.append(Task.assignee_id == task_filter.assignee_id)
    if task_filter.skills:
        slugs = normalise_skill_names(task_filter.skills, field="filter.skills")
        conditions.append(
            Task.id.in_(select(TaskSkill.task_id).join(Skill).where(Skill.name.in_(slugs)))
        )
    if task_filter.search:
        needle = task_filter.search.strip().lower()
        conditions.append(
            or_(
                func.lower(Task.title).contains(needle, autoescape=True),
                func.lower(Task.description).contains(needle, autoescape=True),
            )
        )
    if task_filter.near:
        conditions.extend(_near_conditions(task_filter.near))
    query = rows_of(Task).where(and_(*conditions)) if conditions else rows_of(Task)
    return Listing(query, task_order(order, task_filter.near), rows=True)


def assignment_listing(task_id: uuid.UUID) -> Listing:
    """A task's assignment history, oldest first."""
    query = rows_of(TaskAssignment).where(TaskAssignment.task_id == task_id)
    return Listing(query, ASSIGNMENT_ORDER, rows=True)
