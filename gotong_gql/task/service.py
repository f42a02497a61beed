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
from gotong_gql.task.models import Task, TaskAssignment, TaskSkill
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.models import User

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


def publish_task_event(uow: UnitOfWork, kind: str, task: Task) -> None:
    message = {"type": kind, "task_id": str(task.id), "at": utcnow().isoformat()}
    uow.publish_after_commit(f"task:{task.id}", message)
    uow.publish_after_commit("tasks", message)


async def _task_for_update(uow: UnitOfWork, task_id: uuid.UUID) -> Task:
    task = await uow.session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise not_found("task", "taskId")
    return task


def _ensure_status(task: Task, allowed: tuple[str, ...], action: str) -> None:
    if task.status not in allowed:
        raise DomainError(
            "INVALID_TRANSITION", f"cannot {action} a task that is {task.status}", "taskId"
        )


def _ensure_manager(task: Task, actor_id: uuid.UUID, roles: frozenset[str], action: str) -> None:
    if task.creator_id != actor_id and "admin" not in roles:
        raise forbidden(f"only the task's creator or an admin may {action} it")


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
    task = await _task_for_update(uow, task_id)
    _ensure_manager(task, uow.actor_id, roles, "update")
    _ensure_status(task, ("open", "assigned", "in_progress"), "update")
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


async def _open_assignment(uow: UnitOfWork, task: Task, user_id: uuid.UUID) -> None:
    now = utcnow()
    active = await uow.session.scalar(
        select(TaskAssignment).where(
            TaskAssignment.task_id == task.id, TaskAssignment.status == "active"
        )
    )
    if active is not None:
        active.status = "reassigned"
        active.completed_at = now
        # The partial unique index allows one active row per task: close before opening.
        await uow.session.flush()
    uow.session.add(
        TaskAssignment(
            task_id=task.id, user_id=user_id, assigned_by_id=uow.actor_id, assigned_at=now
        )
    )
    task.assignee_id = user_id
    task.status = "assigned"
    task.updated_at = now


async def assign_task(
    uow: UnitOfWork, roles: frozenset[str], task_id: uuid.UUID, assignee_id: uuid.UUID
) -> Task:
    task = await _task_for_update(uow, task_id)
    _ensure_manager(task, uow.actor_id, roles, "assign")
    _ensure_status(task, ("open", "assigned"), "assign")
    if await uow.session.get(User, assignee_id) is None:
        raise not_found("assignee", "assigneeId")
    if task.assignee_id == assignee_id:
        raise DomainError(
            "INVALID_TRANSITION", "the task is already assigned to this user", "assigneeId"
        )
    before = snapshot(task, TASK_FIELDS)
    await _open_assignment(uow, task, assignee_id)
    await record(
        uow, "task.assign", "task", task.id, before=before, after=snapshot(task, TASK_FIELDS)
    )
    await uow.session.flush()
    publish_task_event(uow, "ASSIGNED", task)
    return task


async def claim_task(uow: UnitOfWork, task_id: uuid.UUID) -> Task:
    task = await _task_for_update(uow, task_id)
    _ensure_status(task, ("open",), "claim")
    before = snapshot(task, TASK_FIELDS)
    await _open_assignment(uow, task, uow.actor_id)
    await record(
        uow, "task.claim", "task", task.id, before=before, after=snapshot(task, TASK_FIELDS)
    )
    await uow.session.flush()
    publish_task_event(uow, "ASSIGNED", task)
    return task


async def start_task(uow: UnitOfWork, task_id: uuid.UUID) -> Task:
    task = await _task_for_update(uow, task_id)
    if task.assignee_id != uow.actor_id:
        raise forbidden("only the assignee starts the task")
    _ensure_status(task, ("assigned",), "start")
    before = snapshot(task, TASK_FIELDS)
    task.status = "in_progress"
    task.started_at = task.updated_at = utcnow()
    await record(
        uow, "task.start", "task", task.id, before=before, after=snapshot(task, TASK_FIELDS)
    )
    await uow.session.flush()
    publish_task_event(uow, "STARTED", task)
    return task


async def cancel_task(
    uow: UnitOfWork, roles: frozenset[str], task_id: uuid.UUID, reason: str | None
) -> Task:
    task = await _task_for_update(uow, task_id)
    _ensure_manager(task, uow.actor_id, roles, "cancel")
    _ensure_status(task, ("open", "assigned", "in_progress"), "cancel")
    if reason is not None and len(reason) > 500:
        raise DomainError("INVALID_INPUT", "reason exceeds 500 characters", "reason")
    before = snapshot(task, TASK_FIELDS)
    now = utcnow()
    active = await uow.session.scalar(
        select(TaskAssignment).where(
            TaskAssignment.task_id == task.id, TaskAssignment.status == "active"
        )
    )
    if active is not None:
        active.status = "cancelled"
        active.completed_at = now
    task.status = "cancelled"
    task.updated_at = now
    after = snapshot(task, TASK_FIELDS)
    after["reason"] = reason
    await record(uow, "task.cancel", "task", task.id, before=before, after=after)
    await uow.session.flush()
    publish_task_event(uow, "CANCELLED", task)
    return task
