"""The task mutations' inputs, payloads and errors, and the list's filter and order inputs."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON

from gotong_gql.graphql.errors import CODE, ERRORS, UserError, error_code_enum
from gotong_gql.task import codes
from gotong_gql.task.types import (
    HOURS,
    LATITUDE,
    LONGITUDE,
    METADATA,
    TaskDifficulty,
    TaskPayer,
    TaskStatus,
    TaskType,
)

TaskErrorCode = error_code_enum(codes.TaskErrorCode, "Why a task mutation refused.")


@strawberry.type(description="Why a task mutation refused; nothing was written.")
class TaskError(UserError):
    code: TaskErrorCode = strawberry.field(description=CODE)


@strawberry.input(description="A new task; only `title` is required.")
class TaskCreateInput:
    title: str = strawberry.field(description="1 to 200 characters, trimmed.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Up to 5,000.")
    difficulty: TaskDifficulty | None = strawberry.field(
        default=strawberry.UNSET, description="How hard."
    )
    location: str | None = strawberry.field(
        default=strawberry.UNSET, description="Where, in words."
    )
    latitude: float | None = strawberry.field(default=strawberry.UNSET, description=LATITUDE)
    longitude: float | None = strawberry.field(default=strawberry.UNSET, description=LONGITUDE)
    estimated_hours: float | None = strawberry.field(default=strawberry.UNSET, description=HOURS)
    skills: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Skill names; normalised to slugs, created on first use.",
    )
    metadata: JSON | None = strawberry.field(default=strawberry.UNSET, description=METADATA)
    payer: TaskPayer = strawberry.field(
        default=TaskPayer.CREATOR,
        description="Whose credit pays the assignee: the creator's (default) or the community's.",
    )


@strawberry.input(description="Only the fields given are changed; skills, if given, replace all.")
class TaskUpdateInput:
    task_id: strawberry.ID = strawberry.field(description="The task to change.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="1 to 200.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Up to 5,000.")
    difficulty: TaskDifficulty | None = strawberry.field(
        default=strawberry.UNSET, description="How hard."
    )
    location: str | None = strawberry.field(
        default=strawberry.UNSET, description="Where, in words."
    )
    latitude: float | None = strawberry.field(default=strawberry.UNSET, description=LATITUDE)
    longitude: float | None = strawberry.field(default=strawberry.UNSET, description=LONGITUDE)
    estimated_hours: float | None = strawberry.field(default=strawberry.UNSET, description=HOURS)
    skills: list[str] | None = strawberry.field(default=strawberry.UNSET, description="At most 10.")
    metadata: JSON | None = strawberry.field(default=strawberry.UNSET, description=METADATA)


@strawberry.input(description="Who is to do a task.")
class TaskAssignInput:
    task_id: strawberry.ID = strawberry.field(description="An OPEN or ASSIGNED task.")
    assignee_id: strawberry.ID = strawberry.field(description="The user to do it.")


@strawberry.input(description="The task to act on.")
class TaskIdInput:
    task_id: strawberry.ID = strawberry.field(description="The task's id.")


@strawberry.input(description="The task to cancel, and why.")
class TaskCancelInput:
    task_id: strawberry.ID = strawberry.field(description="An OPEN, ASSIGNED or IN_PROGRESS task.")
    reason: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.type(description="The result of a task mutation.")
class TaskPayload:
    task: TaskType | None = strawberry.field(description="The task after it; null when refused.")
    errors: list[TaskError] = strawberry.field(description=ERRORS)


@strawberry.input(description="A circle on the map: tasks placed inside it.")
class NearInput:
    latitude: float = strawberry.field(description="The centre's latitude, decimal degrees.")
    longitude: float = strawberry.field(description="The centre's longitude, decimal degrees.")
    radius_km: float = strawberry.field(description="The radius in kilometres, above 0.")


@strawberry.input(description="Which tasks to list; the fields given must all match.")
class TaskFilterInput:
    status: list[TaskStatus] | None = strawberry.field(default=None, description="Any of these.")
    skills: list[str] | None = strawberry.field(
        default=None, description="Tasks with any of these."
    )
    creator_id: strawberry.ID | None = strawberry.field(default=None, description="Created by.")
    assignee_id: strawberry.ID | None = strawberry.field(default=None, description="Assigned to.")
    near: NearInput | None = strawberry.field(default=None, description="Placed in this circle.")
    search: str | None = strawberry.field(default=None, description="In title and description.")


@strawberry.enum(description="What tasks are sorted by; ties go by id.")
class TaskOrderField(Enum):
    CREATED_AT = strawberry.enum_value("created_at", description="Creation time.")
    UPDATED_AT = strawberry.enum_value("updated_at", description="Time of the last change.")
    TITLE = strawberry.enum_value("title", description="Title, as the database compares text.")
    ESTIMATED_HOURS = strawberry.enum_value("estimated_hours", description="Effort; null last.")
    DISTANCE = strawberry.enum_value(
        "distance", description="Distance from `filter.near`'s centre (needs it)."
    )


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("asc", description="Smallest (or oldest) first.")
    DESC = strawberry.enum_value("desc", description="Largest (or newest) first.")


@strawberry.input(description="How to sort tasks; newest first by default.")
class TaskOrderInput:
    field: TaskOrderField = strawberry.field(
        default=TaskOrderField.CREATED_AT, description="What to sort by."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Which way."
    )
