from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gotong_gql.models_base import (
    Field,
    SQLModel,
    check,
    created_at_field,
    fk_field,
    id_field,
    in_list,
    json_field,
    timestamp_field,
)

TASK_STATUSES = ("open", "assigned", "in_progress", "completed", "cancelled")
DIFFICULTIES = ("easy", "intermediate", "hard")
PAYERS = ("creator", "community")
# `cancelled` closes the active assignment of a cancelled task (beyond the three of the spec).
ASSIGNMENT_STATUSES = ("active", "completed", "reassigned", "cancelled")


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        check("length(title) BETWEEN 1 AND 200", "title_length"),
        check(in_list("status", TASK_STATUSES), "status"),
        check(f"difficulty IS NULL OR {in_list('difficulty', DIFFICULTIES)}", "difficulty"),
        check("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", "latitude_range"),
        check("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", "longitude_range"),
        check("(latitude IS NULL) = (longitude IS NULL)", "coordinates_pair"),
        check("estimated_hours IS NULL OR estimated_hours > 0", "estimated_hours_positive"),
        check(in_list("payer", PAYERS), "payer"),
        check("reserved_minutes >= 0", "reserved_nonnegative"),
        sa.Index("ix_tasks_status_created_at", "status", "created_at"),
        # The default order of `tasks` (newest first, id as tie-break) reads this index.
        sa.Index("ix_tasks_created_at_id", "created_at", "id"),
    )

    id: uuid.UUID = id_field()
    creator_id: uuid.UUID = fk_field("users.id", ondelete="RESTRICT")
    assignee_id: uuid.UUID | None = fk_field("users.id", ondelete="SET NULL", nullable=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=5000)
    status: str = Field(default="open", max_length=20)
    difficulty: str | None = Field(default=None, max_length=20)
    location: str | None = Field(default=None, max_length=255)
    latitude: float | None = None
    longitude: float | None = None
    estimated_hours: float | None = None
    metadata_: dict[str, Any] = json_field(name="metadata")
    # Whose credit pays the assignee (SPEC 9), and how much of it is held for this task now:
    # reserved when assigned, released on cancel, paid or released by the verification verdict.
    payer: str = Field(default="creator", max_length=20)
    reserved_minutes: int = Field(default=0, sa_type=sa.BigInteger)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    started_at: datetime | None = timestamp_field()
    completed_at: datetime | None = timestamp_field()


class TaskSkill(SQLModel, table=True):
    __tablename__ = "task_skills"

    task_id: uuid.UUID = Field(foreign_key="tasks.id", ondelete="CASCADE", primary_key=True)
    skill_id: uuid.UUID = Field(
        foreign_key="skills.id", ondelete="RESTRICT", primary_key=True, index=True
    )


class TaskAssignment(SQLModel, table=True):
    """Assignment history; rows are closed, never deleted."""

    __tablename__ = "task_assignments"
    __table_args__ = (
        check(in_list("status", ASSIGNMENT_STATUSES), "status"),
        sa.Index(
            "uq_task_assignments_active_task",
            "task_id",
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        ),
    )

    id: uuid.UUID = id_field()
    task_id: uuid.UUID = fk_field("tasks.id", ondelete="RESTRICT")
    user_id: uuid.UUID = fk_field("users.id", ondelete="RESTRICT")
    assigned_by_id: uuid.UUID | None = fk_field("users.id", ondelete="SET NULL", nullable=True)
    assigned_at: datetime = created_at_field()
    completed_at: datetime | None = timestamp_field()
    status: str = Field(default="active", max_length=20)
