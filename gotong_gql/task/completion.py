"""taskComplete: the assignee finishes an IN_PROGRESS task, and its contribution is recorded.

The task's side (the rule, the compare-and-set transition, the assignment, the audit entry, the
live event) is this domain's; the contribution, with its `contribution_created` event, is made by
`contribution/service.py`'s `record_task_completion` from what the task says about the work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from gotong_gql.audit.service import record, snapshot
from gotong_gql.contribution.models import Contribution
from gotong_gql.contribution.service import ContributionFields, record_task_completion
from gotong_gql.db import utcnow
from gotong_gql.errors import validate
from gotong_gql.task import rules
from gotong_gql.task.lifecycle import close_active_assignment, transition
from gotong_gql.task.models import Task
from gotong_gql.task.service import TASK_FIELDS, lock_task, publish_task_event, skills_of
from gotong_gql.uow import UnitOfWork
from gotong_gql.urls import HTTPS_ONLY
from gotong_gql.user.models import User

# A task completion records at most a week of work (7 x 24 hours), given or measured since
# taskStart: Markov reads duration_hours as the effort behind the completion.
MAX_DURATION_HOURS = 168


class CompletionData(ContributionFields):
    """What the assignee tells about finished work; the rest comes from the task."""

    title: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    duration_hours: Annotated[float, Field(gt=0, le=MAX_DURATION_HOURS)] | None = None


@dataclass(frozen=True)
class Completed:
    task: Task
    contribution: Contribution


async def complete_task(
    uow: UnitOfWork,
    actor: User,
    task_id: uuid.UUID,
    raw: dict[str, Any],
    *,
    https_only: bool = True,
) -> Completed:
    """The assignee finishes an in-progress task: the task, its assignment and the new
    contribution change together, with the `contribution_created` event."""
    task = await lock_task(uow, task_id)
    rules.COMPLETE.ensure(task, actor.id)
    data = validate(CompletionData, raw, context={HTTPS_ONLY: https_only})
    now = utcnow()
    before = snapshot(task, TASK_FIELDS)
    # First, so that a lost race (a concurrent cancel) writes no contribution and no event.
    await transition(
        uow,
        task,
        rules.COMPLETE,
        Task.assignee_id == actor.id,
        status="completed",
        completed_at=now,
        updated_at=now,
    )
    duration = data.duration_hours
    if duration is None and task.started_at is not None:
        duration = min(round((now - task.started_at).total_seconds() / 3600, 2), MAX_DURATION_HOURS)
    metadata = {
        **data.metadata,
        "task_id": str(task.id),
        "location": task.location,
        "latitude": task.latitude,
        "longitude": task.longitude,
        "duration_hours": duration,
        "estimated_hours": task.estimated_hours,
        "difficulty": task.difficulty,
    }
    contribution = await record_task_completion(
        uow,
        actor,
        task.id,
        title=data.title or task.title,
        description=data.description,
        evidence_url=data.evidence_url,
        metadata=metadata,
        skills=await skills_of(uow.session, task.id),
    )
    await close_active_assignment(uow.session, task, "completed", now)
    after = snapshot(task, TASK_FIELDS)
    after["contribution_id"] = str(contribution.id)
    record(uow, "task.complete", "task", task.id, before=before, after=after)
    await uow.session.flush()
    publish_task_event(uow, "COMPLETED", task)
    return Completed(task, contribution)
