from __future__ import annotations

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
from gotong_gql.graphql.errors import UserError
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
from gotong_gql.keyset import QuerySource
from gotong_gql.skill.types import SkillType
from gotong_gql.task import queries, rules
from gotong_gql.task.models import Task, TaskAssignment
from gotong_gql.user.types import UserType

if TYPE_CHECKING:
    from gotong_gql.contribution.types import ContributionType

ContributionRef = Annotated["ContributionType", strawberry.lazy("gotong_gql.contribution.types")]


def _can(mutation: str, who: str, rule: rules.TaskRule) -> str:
    statuses = [status for status in ("open", "assigned", "in_progress") if status in rule.statuses]
    return (
        f"Whether `{mutation}` would accept the viewer now: {who}, while the task is "
        f"{' or '.join(status.upper() for status in statuses)} (the rule the mutation enforces; "
        "its input is checked only then)."
    )


@strawberry.enum
class TaskStatus(Enum):
    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@strawberry.enum
class TaskDifficulty(Enum):
    EASY = "easy"
    INTERMEDIATE = "intermediate"
    HARD = "hard"


@strawberry.enum(description="Whose time credit pays the assignee of a task (SPEC 9).")
class TaskPayer(Enum):
    CREATOR = strawberry.enum_value(
        "creator", description="The task's creator, from their own credit account."
    )
    COMMUNITY = strawberry.enum_value(
        "community", description="The community account (organizers and admins choose it)."
    )


@strawberry.enum
class AssignmentStatus(Enum):
    ACTIVE = "active"
    COMPLETED = "completed"
    REASSIGNED = "reassigned"
    CANCELLED = "cancelled"


async def _user(info: strawberry.Info[Context, None], user_id: Any) -> UserType | None:
    if user_id is None:
        return None
    user = await info.context.loaders.users_by_id.load(user_id)
    return UserType.from_row(user) if user else None


async def _viewer_may(
    info: strawberry.Info[Context, None], rule: rules.TaskRule, task: Task
) -> bool:
    actor = await info.context.actor()
    return actor is not None and rule.allows(task, *actor)


@strawberry.type(name="TaskAssignment")
class TaskAssignmentType:
    status: AssignmentStatus
    assigned_at: datetime
    completed_at: datetime | None
    row: strawberry.Private[TaskAssignment]

    @classmethod
    def from_row(cls, row: TaskAssignment) -> TaskAssignmentType:
        return cls(
            status=AssignmentStatus(row.status),
            assigned_at=row.assigned_at,
            completed_at=row.completed_at,
            row=row,
        )

    @strawberry.field
    async def user(self, info: strawberry.Info[Context, None]) -> UserType:
        user = await _user(info, self.row.user_id)
        assert user is not None  # foreign key, ON DELETE RESTRICT
        return user

    @strawberry.field
    async def assigned_by(self, info: strawberry.Info[Context, None]) -> UserType | None:
        return await _user(info, self.row.assigned_by_id)


@strawberry.type(name="Task")
class TaskType(relay.Node):
    id: relay.NodeID[str]
    title: str
    description: str
    status: TaskStatus
    difficulty: TaskDifficulty | None
    location: str | None
    latitude: float | None
    longitude: float | None
    estimated_hours: float | None
    metadata: JSON
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
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

    @strawberry.field
    async def creator(self, info: strawberry.Info[Context, None]) -> UserType:
        user = await _user(info, self.row.creator_id)
        assert user is not None  # foreign key, ON DELETE RESTRICT
        return user

    @strawberry.field
    async def assignee(self, info: strawberry.Info[Context, None]) -> UserType | None:
        return await _user(info, self.row.assignee_id)

    @strawberry.field(description="At most 10 skills, by name.")
    async def skills(self, info: strawberry.Info[Context, None]) -> list[SkillType]:
        rows = await info.context.loaders.skills_by_task_id.load(self.row.id)
        return [SkillType.from_row(skill) for skill in rows]

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

    @strawberry.field(description="The contribution made by completing this task.")
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
        return await paginate(
            QuerySource(queries.assignment_listing(self.row.id), info.context.db),
            PageArgs(first, after, last, before),
            TaskAssignmentType.from_row,
            nested=True,
        )

    @strawberry.field(description="The audit trail of this task, oldest first.")
    async def history(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[AuditEntryType]:
        return await paginate(
            QuerySource(audit_service.entry_listing("task", self.row.id), info.context.db),
            PageArgs(first, after, last, before),
            AuditEntryType.from_row,
            nested=True,
        )


@strawberry.enum
class TaskEventType(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    ASSIGNED = "ASSIGNED"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    EVIDENCE_ADDED = "EVIDENCE_ADDED"


@strawberry.type
class TaskEvent:
    type: TaskEventType
    task: TaskType
    at: datetime


@strawberry.enum
class TaskErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    INSUFFICIENT_CREDIT = strawberry.enum_value(
        "INSUFFICIENT_CREDIT",
        description="taskAssign, taskClaim: the payer's account cannot reserve the task's "
        "estimate without crossing its credit limit.",
    )


@strawberry.type
class TaskError(UserError):
    code: TaskErrorCode


@strawberry.input
class TaskCreateInput:
    title: str
    description: str | None = strawberry.UNSET
    difficulty: TaskDifficulty | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    estimated_hours: float | None = strawberry.UNSET
    skills: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Skill names; normalised to slugs, created on first use.",
    )
    metadata: JSON | None = strawberry.UNSET
    payer: TaskPayer = strawberry.field(
        default=TaskPayer.CREATOR,
        description="Whose credit pays the assignee: the creator's (default) or the community's.",
    )


@strawberry.input(description="Only the fields given are changed; skills, if given, replace all.")
class TaskUpdateInput:
    task_id: strawberry.ID
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    difficulty: TaskDifficulty | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    estimated_hours: float | None = strawberry.UNSET
    skills: list[str] | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET


@strawberry.input
class TaskAssignInput:
    task_id: strawberry.ID
    assignee_id: strawberry.ID


@strawberry.input
class TaskIdInput:
    task_id: strawberry.ID


@strawberry.input
class TaskCancelInput:
    task_id: strawberry.ID
    reason: str | None = None


@strawberry.type
class TaskPayload:
    task: TaskType | None
    errors: list[TaskError]


@strawberry.input
class NearInput:
    latitude: float
    longitude: float
    radius_km: float


@strawberry.input
class TaskFilterInput:
    status: list[TaskStatus] | None = None
    skills: list[str] | None = strawberry.field(
        default=None, description="Tasks with any of these."
    )
    creator_id: strawberry.ID | None = None
    assignee_id: strawberry.ID | None = None
    near: NearInput | None = None
    search: str | None = strawberry.field(default=None, description="In title and description.")


@strawberry.enum
class TaskOrderField(Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    TITLE = "title"
    ESTIMATED_HOURS = "estimated_hours"
    DISTANCE = "distance"


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input
class TaskOrderInput:
    field: TaskOrderField = TaskOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC
