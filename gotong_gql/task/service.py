"""Tasks and their lifecycle: open -> assigned -> in_progress -> completed, or -> cancelled.

Every change writes an audit entry and queues a live event; every refusal raises a DomainError
before anything is written (the unit of work rolls back).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record, snapshot
from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError, forbidden, not_found, validate
from gotong_gql.skill.models import Skill
from gotong_gql.skill.service import ensure_skills, normalise_skill_names
from gotong_gql.task import rules
from gotong_gql.task.codes import TaskErrorCode
from gotong_gql.task.models import Task, TaskSkill
from gotong_gql.uow import UnitOfWork

MAX_TASK_SKILLS = 10
MAX_METADATA_KEYS = 50
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
    "payer",
    "reserved_minutes",
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
    # Organizers (and admins) create tasks, so they are the ones who may choose COMMUNITY.
    payer: Literal["creator", "community"] = "creator"


class TaskUpdateData(_TaskFields):
    title: Title | None = None


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


async def skills_of(session: AsyncSession, task_id: uuid.UUID) -> list[Skill]:
    """The task's skills, by name."""
    return list(
        await session.scalars(
            select(Skill).join(TaskSkill).where(TaskSkill.task_id == task_id).order_by(Skill.name)
        )
    )


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
        payer=data.payer,
    )
    uow.session.add(task)
    await uow.session.flush()
    after = snapshot(task, TASK_FIELDS)
    after["skills"] = sorted(await _set_skills(uow.session, task, data.skills or []))
    record(uow, "task.create", "task", task.id, after=after)
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
            raise DomainError(TaskErrorCode.INVALID_INPUT, "title cannot be null", "title")
        setattr(task, name, "" if name == "description" and value is None else value)
    if "metadata" in data.model_fields_set:
        task.metadata_ = data.metadata or {}
    after = snapshot(task, TASK_FIELDS)
    if "skills" in data.model_fields_set:
        before["skills"] = await skill_names(uow.session, task.id)
        after["skills"] = sorted(await _set_skills(uow.session, task, data.skills or []))
    if before != after:
        task.updated_at = utcnow()
        record(uow, "task.update", "task", task.id, before=before, after=after)
        await uow.session.flush()
        publish_task_event(uow, "UPDATED", task)
    return task
