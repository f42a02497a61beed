from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gotong_gql.audit import service as audit_service
from gotong_gql.audit.types import AuditEntryType
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.loaders import now_or_later, prefetch_users, user_ids_wanted
from gotong_gql.graphql.nodes import load_nodes
from gotong_gql.graphql.pagination import (
    After,
    Before,
    Connection,
    NestedFirst,
    NestedLast,
    PageArgs,
    paginate,
)
from gotong_gql.graphql.selection import selected_below
from gotong_gql.keyset import QuerySource
from gotong_gql.skill.types import SkillType
from gotong_gql.task import queries, rules
from gotong_gql.task.models import Task, TaskAssignment
from gotong_gql.user.types import UserType

if TYPE_CHECKING:
    from gotong_gql.contribution.types import ContributionType

ContributionRef = Annotated["ContributionType", strawberry.lazy("gotong_gql.contribution.types")]
LATITUDE = "Decimal degrees, -90 to 90; with `longitude`."
LONGITUDE = "Decimal degrees, -180 to 180; with `latitude`."
HOURS = "Expected effort in hours, above 0 and at most 10,000."
METADATA = "A JSON object of at most 50 keys, kept with the task and its contribution."


def _can(mutation: str, who: str, rule: rules.TaskRule) -> str:
    statuses = [status for status in ("open", "assigned", "in_progress") if status in rule.statuses]
    return (
        f"Whether `{mutation}` would accept the viewer now: {who}, while the task is "
        f"{' or '.join(status.upper() for status in statuses)} (the rule the mutation enforces; "
        "its input is checked only then)."
    )


@strawberry.enum(
    description="A task's place in its lifecycle: OPEN, ASSIGNED, IN_PROGRESS, "
    "COMPLETED, or CANCELLED from any of the first three."
)
class TaskStatus(Enum):
    OPEN = strawberry.enum_value("open", description="Waiting for someone to do it.")
    ASSIGNED = strawberry.enum_value("assigned", description="Someone will do it; not started.")
    IN_PROGRESS = strawberry.enum_value("in_progress", description="The assignee is at work.")
    COMPLETED = strawberry.enum_value("completed", description="Done; its contribution exists.")
    CANCELLED = strawberry.enum_value("cancelled", description="Called off; final.")


@strawberry.enum(description="How hard the creator thinks a task is.")
class TaskDifficulty(Enum):
    EASY = strawberry.enum_value("easy", description="Anyone can do it.")
    INTERMEDIATE = strawberry.enum_value("intermediate", description="Needs some experience.")
    HARD = strawberry.enum_value("hard", description="Needs skill and experience.")


@strawberry.enum(description="Whose time credit pays the assignee of a task (SPEC 9).")
class TaskPayer(Enum):
    CREATOR = strawberry.enum_value(
        "creator", description="The task's creator, from their own credit account."
    )
    COMMUNITY = strawberry.enum_value(
        "community", description="The community account (organizers and admins choose it)."
    )


@strawberry.enum(description="The state of one assignment of a task to a user.")
class AssignmentStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="The task's current assignment.")
    COMPLETED = strawberry.enum_value("completed", description="The assignee completed the task.")
    REASSIGNED = strawberry.enum_value("reassigned", description="Replaced by a later one.")
    CANCELLED = strawberry.enum_value("cancelled", description="The task was cancelled.")


def _user(info: strawberry.Info[Context, None], user_id: Any) -> Any:
    """The user of this id, at once when the loader holds it (graphql/loaders.py); null for
    none. A synchronous resolver returns it: a UserType, None or an awaitable of either."""
    if user_id is None:
        return None
    return now_or_later(info.context.loaders.users_by_id.load(user_id), _user_type)


TASK_USERS = {"creator": "creator_id", "assignee": "assignee_id"}
ASSIGNMENT_USERS = {"user": "user_id", "assignedBy": "assigned_by_id"}
HISTORY_USERS = {"actor": "actor_id"}


def _user_type(row: Any) -> UserType | None:
    return UserType.from_row(row) if row else None


def _skill_types(rows: list[Any]) -> list[SkillType]:
    return [SkillType.from_row(skill) for skill in rows]


async def _viewer_may(
    info: strawberry.Info[Context, None], rule: rules.TaskRule, task: Task
) -> bool:
    actor = await info.context.actor()
    return actor is not None and rule.allows(task, *actor)


@strawberry.type(name="TaskAssignment", description="One assignment in a task's history.")
class TaskAssignmentType:
    status: AssignmentStatus = strawberry.field(description="Whether it is the current one.")
    assigned_at: datetime = strawberry.field(description="When it was made (assigned or claimed).")
    completed_at: datetime | None = strawberry.field(
        description="When it ended; null while active."
    )
    row: strawberry.Private[TaskAssignment]

    @classmethod
    def from_row(cls, row: TaskAssignment) -> TaskAssignmentType:
        return cls(
            status=AssignmentStatus(row.status),
            assigned_at=row.assigned_at,
            completed_at=row.completed_at,
            row=row,
        )

    @strawberry.field(description="Who was assigned.")
    def user(self, info: strawberry.Info[Context, None]) -> UserType:
        return _user(info, self.row.user_id)  # foreign key, ON DELETE RESTRICT: never null

    @strawberry.field(
        description="Who assigned: the user themselves for a claim; null if the system did."
    )
    def assigned_by(self, info: strawberry.Info[Context, None]) -> UserType | None:
        return _user(info, self.row.assigned_by_id)


@strawberry.type(
    name="Task", description="Work an organizer posts for the community; visible to every user."
)
class TaskType(relay.Node):
    id: relay.NodeID[str]
    title: str = strawberry.field(description="1 to 200 characters.")
    description: str = strawberry.field(description="At most 5,000 characters; may be empty.")
    status: TaskStatus = strawberry.field(description="Where the task is in its lifecycle.")
    difficulty: TaskDifficulty | None = strawberry.field(description="Null when not given.")
    location: str | None = strawberry.field(description="Where, in words; null when not given.")
    latitude: float | None = strawberry.field(description="Decimal degrees; null when unplaced.")
    longitude: float | None = strawberry.field(description="Decimal degrees; null when unplaced.")
    estimated_hours: float | None = strawberry.field(description="Expected effort, in hours.")
    metadata: JSON = strawberry.field(description="Free-form JSON object, at most 50 keys.")
    created_at: datetime = strawberry.field(description="When the task was created.")
    updated_at: datetime = strawberry.field(description="When the task last changed.")
    completed_at: datetime | None = strawberry.field(description="Null until COMPLETED.")
    payer: TaskPayer = strawberry.field(
        description="Whose credit pays the assignee: reserved when the task is assigned, paid "
        "when its contribution is approved."
    )
    reserved_minutes: int = strawberry.field(
        description="Minutes held on the payer's account for this task now: its estimate from "
        "assignment until cancellation or the verdict on its contribution, 0 otherwise."
    )
    row: strawberry.Private[Task]

    @classmethod
    def from_row(cls, row: Task) -> TaskType:
        return cls(
            id=str(row.id),
            title=row.title,
            description=row.description,
            status=TaskStatus(row.status),
            difficulty=TaskDifficulty(row.difficulty) if row.difficulty else None,
            location=row.location,
            latitude=row.latitude,
            longitude=row.longitude,
            estimated_hours=row.estimated_hours,
            metadata=row.metadata_,
            created_at=row.created_at,
            updated_at=row.updated_at,
            completed_at=row.completed_at,
            payer=TaskPayer(row.payer),
            reserved_minutes=row.reserved_minutes,
            row=row,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await load_nodes(info, Task, node_ids, cls.from_row)

    @classmethod
    async def prefetch(
        cls,
        info: strawberry.Info[Context, None],
        rows: list[Any],
        path: tuple[str, ...] = ("edges", "node"),
    ) -> None:
        """Loads what the selection asks of these tasks (at `path` below the resolver's
        field): their users, their skills, one batch each, the same statements the fields
        would have sent. The synchronous `creator`, `assignee` and `skills` then answer at
        once (graphql/loaders.py)."""
        loaders = info.context.loaders
        loads = []
        ids = user_ids_wanted(info, rows, TASK_USERS, path)
        if ids:
            loads.append(loaders.users_by_id.load_many(ids))
        if rows and "skills" in selected_below(info, *path):
            loads.append(loaders.skills_by_task_id.load_many([row.id for row in rows]))
        if loads:
            await asyncio.gather(*loads)

    @strawberry.field(description="The organizer who created the task.")
    def creator(self, info: strawberry.Info[Context, None]) -> UserType:
        return _user(info, self.row.creator_id)  # foreign key, ON DELETE RESTRICT: never null

    @strawberry.field(description="Who does the task; null while OPEN.")
    def assignee(self, info: strawberry.Info[Context, None]) -> UserType | None:
        return _user(info, self.row.assignee_id)

    @strawberry.field(description="At most 10 skills, by name.")
    def skills(self, info: strawberry.Info[Context, None]) -> list[SkillType]:
        return now_or_later(info.context.loaders.skills_by_task_id.load(self.row.id), _skill_types)

    @strawberry.field(description=_can("taskUpdate", "the creator or an admin", rules.UPDATE))
    async def viewer_can_update(self, info: strawberry.Info[Context, None]) -> bool:
        return await _viewer_may(info, rules.UPDATE, self.row)

    @strawberry.field(description=_can("taskAssign", "the creator or an admin", rules.ASSIGN))
    async def viewer_can_assign(self, info: strawberry.Info[Context, None]) -> bool:
        return await _viewer_may(info, rules.ASSIGN, self.row)

    @strawberry.field(description=_can("taskClaim", "anyone", rules.CLAIM))
    async def viewer_can_claim(self, info: strawberry.Info[Context, None]) -> bool:
        return await _viewer_may(info, rules.CLAIM, self.row)

    @strawberry.field(description=_can("taskStart", "the assignee", rules.START))
    async def viewer_can_start(self, info: strawberry.Info[Context, None]) -> bool:
        return await _viewer_may(info, rules.START, self.row)

    @strawberry.field(description=_can("taskComplete", "the assignee", rules.COMPLETE))
    async def viewer_can_complete(self, info: strawberry.Info[Context, None]) -> bool:
        return await _viewer_may(info, rules.COMPLETE, self.row)

    @strawberry.field(description=_can("taskCancel", "the creator or an admin", rules.CANCEL))
    async def viewer_can_cancel(self, info: strawberry.Info[Context, None]) -> bool:
        return await _viewer_may(info, rules.CANCEL, self.row)

    @strawberry.field(description="The contribution made by completing this task; null before.")
    async def contribution(self, info: strawberry.Info[Context, None]) -> ContributionRef | None:
        # Imported here: contribution types refer to tasks, and tasks to contributions.
        from gotong_gql.contribution.types import ContributionType

        row = await info.context.loaders.contributions_by_task_id.load(self.row.id)
        return ContributionType.from_row(row) if row else None

    @strawberry.field(description="Assignment history, oldest first.")
    async def assignments(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[TaskAssignmentType]:
        connection = await paginate(
            QuerySource(queries.assignment_listing(self.row.id), info.context.db),
            PageArgs(first, after, last, before),
            TaskAssignmentType.from_row,
            nested=True,
        )
        await prefetch_users(info, [edge.node.row for edge in connection.edges], ASSIGNMENT_USERS)
        return connection

    @strawberry.field(description="The audit trail of this task, oldest first.")
    async def history(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[AuditEntryType]:
        connection = await paginate(
            QuerySource(audit_service.entry_listing("task", self.row.id), info.context.db),
            PageArgs(first, after, last, before),
            AuditEntryType.from_row,
            nested=True,
        )
        await prefetch_users(info, [edge.node.row for edge in connection.edges], HISTORY_USERS)
        return connection


@strawberry.enum(description="What happened to a task.")
class TaskEventType(Enum):
    CREATED = strawberry.enum_value("CREATED", description="`taskCreate`.")
    UPDATED = strawberry.enum_value("UPDATED", description="`taskUpdate`.")
    ASSIGNED = strawberry.enum_value("ASSIGNED", description="`taskAssign` or `taskClaim`.")
    STARTED = strawberry.enum_value("STARTED", description="`taskStart`.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="`taskComplete`.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="`taskCancel`.")
    EVIDENCE_ADDED = strawberry.enum_value(
        "EVIDENCE_ADDED", description="Evidence of its contribution was added or checked."
    )


@strawberry.type(description="A change to a task, sent to subscribers after it was committed.")
class TaskEvent:
    type: TaskEventType = strawberry.field(description="What happened.")
    task: TaskType = strawberry.field(description="The task as it is after the change.")
    at: datetime = strawberry.field(description="When it happened.")
