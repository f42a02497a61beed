"""Who may do what to a task, and in which state: one rule per mutation.

A rule is a pure predicate over the task's columns (creator_id, assignee_id, status) and the
actor's id and roles. The services refuse with `ensure` and `Task.viewerCan*` answers with
`allows`, so that what the API offers and what it accepts cannot disagree. Each rule is a
conjunction of a person test and a status test, simple enough to be compiled to SQL
(`creator_id = :viewer OR :is_admin`, `status IN (...)`). What the input adds (a valid title, an
assignee who exists) is the service's to check, not the rule's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gotong_gql.errors import DomainError, forbidden
from gotong_gql.task.models import Task

Who = Callable[[Task, uuid.UUID, frozenset[str]], bool]


def manages(task: Task, actor_id: uuid.UUID, roles: frozenset[str]) -> bool:
    return task.creator_id == actor_id or "admin" in roles


def is_assignee(task: Task, actor_id: uuid.UUID, roles: frozenset[str]) -> bool:
    return task.assignee_id == actor_id


def anyone(task: Task, actor_id: uuid.UUID, roles: frozenset[str]) -> bool:
    return True


@dataclass(frozen=True)
class TaskRule:
    action: str
    who: Who
    refusal: str  # the FORBIDDEN message when `who` says no
    statuses: frozenset[str]

    def allows(self, task: Task, actor_id: uuid.UUID, roles: frozenset[str] = frozenset()) -> bool:
        return self.who(task, actor_id, roles) and task.status in self.statuses

    def ensure(self, task: Task, actor_id: uuid.UUID, roles: frozenset[str] = frozenset()) -> None:
        """FORBIDDEN for the wrong person first, then INVALID_TRANSITION for the wrong state."""
        if not self.who(task, actor_id, roles):
            raise forbidden(self.refusal)
        if task.status not in self.statuses:
            raise DomainError(
                "INVALID_TRANSITION",
                f"cannot {self.action} a task that is {task.status.upper()}",
                "taskId",
            )


_ACTIVE = frozenset({"open", "assigned", "in_progress"})
_MANAGER_ONLY = "only the task's creator or an admin may {} it"

UPDATE = TaskRule("update", manages, _MANAGER_ONLY.format("update"), _ACTIVE)
ASSIGN = TaskRule(
    "assign", manages, _MANAGER_ONLY.format("assign"), frozenset({"open", "assigned"})
)
CLAIM = TaskRule("claim", anyone, "", frozenset({"open"}))
START = TaskRule("start", is_assignee, "only the assignee starts the task", frozenset({"assigned"}))
COMPLETE = TaskRule(
    "complete", is_assignee, "only the assignee completes the task", frozenset({"in_progress"})
)
CANCEL = TaskRule("cancel", manages, _MANAGER_ONLY.format("cancel"), _ACTIVE)
