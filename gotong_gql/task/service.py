"""Tasks and their lifecycle: open -> assigned -> in_progress -> completed, or -> cancelled.

Every change writes an audit entry and queues a live event; every refusal raises a DomainError
before anything is written (the unit of work rolls back).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record, snapshot
from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError, forbidden, not_found, validate
from gotong_gql.skill.models import Skill
from gotong_gql.skill.service import ensure_skills, normalise_skill_names
from gotong_gql.task import rules
from gotong_gql.task.models import Task, TaskAssignment, TaskSkill
from gotong_gql.uow import UnitOfWork

MAX_TASK_SKILLS = 10
MAX_METADATA_KEYS = 50
EARTH_RADIUS_KM = 6371.0088
TASK_FIELDS = (
    "title",
    "description",
    "status",
    "difficulty",
    "location",
    "latitude",
    "longitude",
    "estimated_hours",
    "metadata_",
    "assignee_id",
    "started_at",
    "completed_at",
)

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _TaskFields(BaseModel):
    model_config = ConfigDict(frozen=True)

    description: Annotated[str, StringConstraints(max_length=5000)] | None = None
    difficulty: Literal["easy", "intermediate", "hard"] | None = None
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    estimated_hours: Annotated[float, Field(gt=0, le=10_000)] | None = None
    skills: list[str] | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("skills")
    @classmethod
    def _skill_count(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(value) > MAX_TASK_SKILLS:
            raise ValueError(f"a task has at most {MAX_TASK_SKILLS} skills")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(value) > MAX_METADATA_KEYS:
            raise ValueError(f"metadata has at most {MAX_METADATA_KEYS} keys")
        return value

    @model_validator(mode="after")
    def _coordinates_pair(self) -> _TaskFields:
        fields = self.model_fields_set
        if ("latitude" in fields or "longitude" in fields) and (
            (self.latitude is None) != (self.longitude is None)
        ):
            raise ValueError("latitude and longitude are given together")
        return self


class TaskCreateData(_TaskFields):
    title: Title


class TaskUpdateData(_TaskFields):
    title: Title | None = None


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


ORDER_COLUMNS = {
    "created_at": Task.created_at,
    "updated_at": Task.updated_at,
    "title": Task.title,
    "estimated_hours": Task.estimated_hours,
}


NULLABLE_ORDER_FIELDS = frozenset({"estimated_hours", "distance"})


@dataclass(frozen=True)
class TaskOrder:
    field: Literal["created_at", "updated_at", "title", "estimated_hours", "distance"] = (
        "created_at"
    )
    descending: bool = True


def publish_task_event(uow: UnitOfWork, kind: str, task: Task) -> None:
    message = {"type": kind, "task_id": str(task.id), "at": utcnow().isoformat()}
    uow.publish_after_commit(f"task:{task.id}", message)
    uow.publish_after_commit("tasks", message)


async def lock_task(uow: UnitOfWork, task_id: uuid.UUID) -> Task:
    """The task as it is now, locked until the unit of work ends (`FOR UPDATE` on PostgreSQL;
    SQLite's write lock is the unit of work's). Read afresh even when this session loaded the
    row earlier: the checks that follow must see the current row."""
    task = await uow.session.get(Task, task_id, with_for_update=True, populate_existing=True)
    if task is None:
        raise not_found("task", "taskId")
    return task


async def _set_skills(session: AsyncSession, task: Task, names: list[str]) -> list[str]:
    skills = await ensure_skills(session, normalise_skill_names(names))
    await session.execute(delete(TaskSkill).where(TaskSkill.task_id == task.id))
    session.add_all(TaskSkill(task_id=task.id, skill_id=skill.id) for skill in skills)
    return [skill.name for skill in skills]


async def skill_names(session: AsyncSession, task_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(Skill.name).join(TaskSkill).where(TaskSkill.task_id == task_id)
    )
    return sorted(rows)


async def create_task(uow: UnitOfWork, roles: frozenset[str], raw: dict[str, Any]) -> Task:
    if not roles & {"organizer", "admin"}:
        raise forbidden("only organizers create tasks")
    data = validate(TaskCreateData, raw)
    task = Task(
        creator_id=uow.actor_id,
        title=data.title,
        description=data.description or "",
        difficulty=data.difficulty,
        location=data.location,
        latitude=data.latitude,
        longitude=data.longitude,
        estimated_hours=data.estimated_hours,
        metadata_=data.metadata or {},
    )
    uow.session.add(task)
    await uow.session.flush()
    after = snapshot(task, TASK_FIELDS)
    after["skills"] = sorted(await _set_skills(uow.session, task, data.skills or []))
    await record(uow, "task.create", "task", task.id, after=after)
    await uow.session.flush()
    publish_task_event(uow, "CREATED", task)
    return task


async def update_task(
    uow: UnitOfWork, roles: frozenset[str], task_id: uuid.UUID, raw: dict[str, Any]
) -> Task:
    task = await lock_task(uow, task_id)
    rules.UPDATE.ensure(task, uow.actor_id, roles)
    data = validate(TaskUpdateData, raw)
    before = snapshot(task, TASK_FIELDS)
    for name in data.model_fields_set - {"skills", "metadata"}:
        value = getattr(data, name)
        if name == "title" and value is None:
            raise DomainError("INVALID_INPUT", "title cannot be null", "title")
        setattr(task, name, "" if name == "description" and value is None else value)
    if "metadata" in data.model_fields_set:
        task.metadata_ = data.metadata or {}
    after = snapshot(task, TASK_FIELDS)
    if "skills" in data.model_fields_set:
        before["skills"] = await skill_names(uow.session, task.id)
        after["skills"] = sorted(await _set_skills(uow.session, task, data.skills or []))
    if before != after:
        task.updated_at = utcnow()
        await record(uow, "task.update", "task", task.id, before=before, after=after)
        await uow.session.flush()
        publish_task_event(uow, "UPDATED", task)
    return task


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


def task_query(task_filter: TaskFilter, order: TaskOrder) -> Select[tuple[Task]]:
    query = select(Task)
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
    if conditions:
        query = query.where(and_(*conditions))
    if order.field == "distance":
        if task_filter.near is None:
            raise DomainError(
                "INVALID_INPUT", "ordering by distance needs the near filter", "orderBy.field"
            )
        column: Any = distance_km(task_filter.near.latitude, task_filter.near.longitude)
    else:
        column = ORDER_COLUMNS[order.field]
    direction = column.desc() if order.descending else column.asc()
    if order.field in NULLABLE_ORDER_FIELDS:
        direction = direction.nulls_last()
    tie_break = Task.id.desc() if order.descending else Task.id.asc()
    return query.order_by(direction, tie_break)


async def list_tasks(
    session: AsyncSession, task_filter: TaskFilter, order: TaskOrder, *, limit: int, offset: int
) -> list[Task]:
    return list(await session.scalars(task_query(task_filter, order).limit(limit).offset(offset)))


async def assignments_of(
    session: AsyncSession, task_id: uuid.UUID, *, limit: int, offset: int
) -> list[TaskAssignment]:
    rows = await session.scalars(
        select(TaskAssignment)
        .where(TaskAssignment.task_id == task_id)
        .order_by(TaskAssignment.assigned_at, TaskAssignment.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)
