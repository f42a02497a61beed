"""Task, TaskAssignment, AuditEntry (a task's history) and Skill."""

from __future__ import annotations

from gotong_gql.audit import service as audit_service
from gotong_gql.audit.models import AuditLog
from gotong_gql.compiler.connection import Connection
from gotong_gql.compiler.registry import register
from gotong_gql.compiler.specs import Computed, Join
from gotong_gql.contribution.models import Contribution
from gotong_gql.skill.models import Skill
from gotong_gql.task import queries, rules
from gotong_gql.task.models import Task, TaskAssignment, TaskSkill
from gotong_gql.user.models import User

TASKS = Task.__table__
USERS = User.__table__
SKILLS = Skill.__table__


def user_by(column: str, table=None) -> Join:  # type: ignore[no-untyped-def]
    """The user whose id is in the row's `column` (null when it is NULL)."""
    return Join(USERS, lambda row, user: user.c.id == row.c[column])


def can(rule: rules.TaskRule) -> Computed:
    return Computed(lambda b, row: b.dialect.truth(rule.sql(row, b)))


def _task_skills(row, skill):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    linked = (
        select(TaskSkill.__table__.c.skill_id)
        .where(TaskSkill.__table__.c.task_id == row.c.id)
        .correlate(row)
    )
    return skill.c.id.in_(linked)


register(
    "Task",
    TASKS,
    creator=user_by("creator_id"),
    assignee=user_by("assignee_id"),
    skills=Join(SKILLS, _task_skills, order=lambda skill: [skill.c.name]),
    viewerCanUpdate=can(rules.UPDATE),
    viewerCanAssign=can(rules.ASSIGN),
    viewerCanClaim=can(rules.CLAIM),
    viewerCanStart=can(rules.START),
    viewerCanComplete=can(rules.COMPLETE),
    viewerCanCancel=can(rules.CANCEL),
    contribution=Join(
        Contribution.__table__, lambda row, contribution: contribution.c.task_id == row.c.id
    ),
    assignments=Connection(lambda b, args, parent: queries.assignment_listing(parent)),
    history=Connection(lambda b, args, parent: audit_service.entry_listing("task", parent)),
)
register(
    "TaskAssignment",
    TaskAssignment.__table__,
    user=user_by("user_id"),
    assignedBy=user_by("assigned_by_id"),
)
register("AuditEntry", AuditLog.__table__, actor=user_by("actor_id"))
register("Skill", SKILLS)
