"""Who may do what to a task, and in which state: one rule per mutation.

A rule is a pure predicate over the task's columns (creator_id, assignee_id, status) and the
actor's id and roles. The services refuse with `ensure` and `Task.viewerCan*` answers with
`allows`, so that what the API offers and what it accepts cannot disagree. Each rule is a
conjunction of a person test and a status test, simple enough to be compiled to SQL
(`TaskRule.sql`). What the input adds (a valid title, an
assignee who exists) is the service's to check, not the rule's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_

from gotong_gql import policy
from gotong_gql.errors import DomainError, forbidden
from gotong_gql.task.codes import TaskErrorCode
from gotong_gql.task.models import Task

MANAGES = policy.IsViewer("creator_id") | policy.ADMIN
IS_ASSIGNEE = policy.IsViewer("assignee_id")
ANYONE = policy.Anyone()


@dataclass(frozen=True)
class TaskRule:
    action: str
    who: policy.Rule
    refusal: str  # the FORBIDDEN message when `who` says no
    statuses: frozenset[str]

    def allows(self, task: Task, actor_id: uuid.UUID, roles: frozenset[str] = frozenset()) -> bool:
        return self.who.allows(task, actor_id, roles) and task.status in self.statuses

    def sql(self, row: Any, viewer: policy.SqlViewer) -> Any:
        """The same predicate over a task row in SQL (the query compiler's `viewerCan*`)."""
        return and_(self.who.sql(row, viewer), row.c.status.in_(sorted(self.statuses)))

    def ensure(self, task: Task, actor_id: uuid.UUID, roles: frozenset[str] = frozenset()) -> None:
        """FORBIDDEN for the wrong person first, then INVALID_TRANSITION for the wrong state."""
        if not self.who.allows(task, actor_id, roles):
            raise forbidden(self.refusal)
        if task.status not in self.statuses:
            raise DomainError(
                TaskErrorCode.INVALID_TRANSITION,
                f"cannot {self.action} a task that is {task.status.upper()}",
                "taskId",
            )


_ACTIVE = frozenset({"open", "assigned", "in_progress"})
_MANAGER_ONLY = "only the task's creator or an admin may {} it"

UPDATE = TaskRule("update", MANAGES, _MANAGER_ONLY.format("update"), _ACTIVE)
ASSIGN = TaskRule(
    "assign", MANAGES, _MANAGER_ONLY.format("assign"), frozenset({"open", "assigned"})
)
CLAIM = TaskRule("claim", ANYONE, "", frozenset({"open"}))
START = TaskRule("start", IS_ASSIGNEE, "only the assignee starts the task", frozenset({"assigned"}))
COMPLETE = TaskRule(
    "complete", IS_ASSIGNEE, "only the assignee completes the task", frozenset({"in_progress"})
)
CANCEL = TaskRule("cancel", MANAGES, _MANAGER_ONLY.format("cancel"), _ACTIVE)
