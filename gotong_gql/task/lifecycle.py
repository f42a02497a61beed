"""The task's status transitions: assign, claim, start, cancel (and complete, completion.py).

Invariant: a task's status only changes through `transition`, a compare-and-set
`UPDATE tasks SET ... WHERE id = :id AND status IN (:from) [AND assignee_id = :actor]` whose
row count must be 1. The row is first read under a lock (`lock_task`) so that the checks
before the change (creator, assignee, status, for a precise error) see the current row; the
compare-and-set then makes the change itself happen at most once whatever happened since.
Two requests that both saw a task in progress, one completing and one cancelling it, cannot
both win: the second matches no row and answers INVALID_TRANSITION, having written nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record, snapshot
from gotong_gql.credit import earning
from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError, not_found
from gotong_gql.task import rules
from gotong_gql.task.codes import TaskErrorCode
from gotong_gql.task.models import Task, TaskAssignment
from gotong_gql.task.service import TASK_FIELDS, lock_task, publish_task_event
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.models import User


async def transition(
    uow: UnitOfWork,
    task: Task,
    rule: rules.TaskRule,
    *expected: ColumnElement[bool],
    **values: Any,
) -> None:
    """Set `values` on the task if its status is still one the rule allows (and `expected`
    still holds); otherwise INVALID_TRANSITION. The loaded row gets the new values too."""
    result = await uow.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status.in_(sorted(rule.statuses)), *expected)
        .values(**values)
        .execution_options(synchronize_session="evaluate")
    )
    if result.rowcount != 1:
        raise DomainError(
            TaskErrorCode.INVALID_TRANSITION,
            f"cannot {rule.action} the task: it has changed meanwhile",
            "taskId",
        )


async def close_active_assignment(
    session: AsyncSession, task: Task, status: str, now: datetime
) -> TaskAssignment | None:
    """The task's active assignment, if it has one, ends as `status` (reassigned, cancelled or
    completed)."""
    active = await session.scalar(
        select(TaskAssignment).where(
            TaskAssignment.task_id == task.id, TaskAssignment.status == "active"
        )
    )
    if active is not None:
        active.status, active.completed_at = status, now
    return active


async def _open_assignment(
    uow: UnitOfWork, task: Task, user_id: uuid.UUID, rule: rules.TaskRule
) -> None:
    now = utcnow()
    # A first assignment reserves the payment on the payer's account (INSUFFICIENT_CREDIT
    # past its limit); a reassignment keeps what the task holds.
    held = await earning.reserve_for(uow, task) if task.status == "open" else task.reserved_minutes
    await transition(
        uow,
        task,
        rule,
        status="assigned",
        assignee_id=user_id,
        updated_at=now,
        reserved_minutes=held,
    )
    if await close_active_assignment(uow.session, task, "reassigned", now) is not None:
        # The partial unique index allows one active row per task: close before opening.
        await uow.session.flush()
    uow.session.add(
        TaskAssignment(
            task_id=task.id, user_id=user_id, assigned_by_id=uow.actor_id, assigned_at=now
        )
    )


async def assign_task(
    uow: UnitOfWork, roles: frozenset[str], task_id: uuid.UUID, assignee_id: uuid.UUID
) -> Task:
    task = await lock_task(uow, task_id)
    rules.ASSIGN.ensure(task, uow.actor_id, roles)
    if await uow.session.get(User, assignee_id) is None:
        raise not_found("assignee", "assigneeId")
    if task.assignee_id == assignee_id:
        raise DomainError(
            TaskErrorCode.INVALID_TRANSITION,
            "the task is already assigned to this user",
            "assigneeId",
        )
    before = snapshot(task, TASK_FIELDS)
    await _open_assignment(uow, task, assignee_id, rules.ASSIGN)
    record(uow, "task.assign", "task", task.id, before=before, after=snapshot(task, TASK_FIELDS))
    await uow.session.flush()
    publish_task_event(uow, "ASSIGNED", task)
    return task


async def claim_task(uow: UnitOfWork, task_id: uuid.UUID) -> Task:
    task = await lock_task(uow, task_id)
    rules.CLAIM.ensure(task, uow.actor_id)
    before = snapshot(task, TASK_FIELDS)
    await _open_assignment(uow, task, uow.actor_id, rules.CLAIM)
    record(uow, "task.claim", "task", task.id, before=before, after=snapshot(task, TASK_FIELDS))
    await uow.session.flush()
    publish_task_event(uow, "ASSIGNED", task)
    return task


async def start_task(uow: UnitOfWork, task_id: uuid.UUID) -> Task:
    task = await lock_task(uow, task_id)
    rules.START.ensure(task, uow.actor_id)
    before = snapshot(task, TASK_FIELDS)
    now = utcnow()
    await transition(
        uow,
        task,
        rules.START,
        Task.assignee_id == uow.actor_id,
        status="in_progress",
        started_at=now,
        updated_at=now,
    )
    record(uow, "task.start", "task", task.id, before=before, after=snapshot(task, TASK_FIELDS))
    await uow.session.flush()
    publish_task_event(uow, "STARTED", task)
    return task


async def cancel_task(
    uow: UnitOfWork, roles: frozenset[str], task_id: uuid.UUID, reason: str | None
) -> Task:
    task = await lock_task(uow, task_id)
    rules.CANCEL.ensure(task, uow.actor_id, roles)
    if reason is not None and len(reason) > 500:
        raise DomainError(TaskErrorCode.INVALID_INPUT, "reason exceeds 500 characters", "reason")
    before = snapshot(task, TASK_FIELDS)
    now = utcnow()
    await earning.release_for(uow, task)
    await transition(
        uow, task, rules.CANCEL, status="cancelled", updated_at=now, reserved_minutes=0
    )
    await close_active_assignment(uow.session, task, "cancelled", now)
    after = snapshot(task, TASK_FIELDS)
    after["reason"] = reason
    record(uow, "task.cancel", "task", task.id, before=before, after=after)
    await uow.session.flush()
    publish_task_event(uow, "CANCELLED", task)
    return task
