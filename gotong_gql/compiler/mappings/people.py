"""User and UserSkill: the profile, what only its owner and admins see, and its lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column, select, union_all

from gotong_gql import policy
from gotong_gql.compiler.build import Builder, Selected, Unsupported
from gotong_gql.compiler.connection import Connection
from gotong_gql.compiler.dialect import quote
from gotong_gql.compiler.mappings.tasks import SKILLS
from gotong_gql.compiler.registry import register
from gotong_gql.compiler.specs import Column, Computed, Custom, Refused, when
from gotong_gql.contribution import service as contributions
from gotong_gql.skill.models import UserSkill
from gotong_gql.task import queries as task_queries
from gotong_gql.user.models import User, UserRole
from gotong_gql.user.types import Role
from gotong_gql.vouch import service as vouches

ROLES = UserRole.__table__


def _email(b: Builder, row: Any) -> Any:
    return when(b, policy.OWN_ACCOUNT.sql(row, b), row.c.email)


def _roles(b: Builder, row: Any, selected: Selected) -> Any:
    """CONTRIBUTOR, then the granted roles in the enum's order (as the resolver lists them)."""
    parts = [select(quote(Role.CONTRIBUTOR.name).label("v"), literal_column("0").label("gql_n"))]
    for index, role in enumerate(Role):
        if role is Role.CONTRIBUTOR:
            continue
        held = ROLES.alias()
        granted = (
            select(held.c.user_id)
            .where(held.c.user_id == row.c.id, held.c.role == role.value)
            .correlate(row)
            .exists()
        )
        parts.append(select(quote(role.name), literal_column(str(index))).where(granted))
    listed = union_all(*parts).subquery()
    ordered = select(listed).order_by(listed.c.gql_n).subquery()
    query = select(b.dialect.array(ordered.c.v, ordered.c.gql_n, element_is_json=False))
    query = query.select_from(ordered)
    return b.dialect.nested(query.scalar_subquery())


def _user_skills(b: Builder, row: Any, selected: Selected) -> Any:
    """The user's skills, most proficient first, then by name (the loader's order)."""
    held = UserSkill.__table__.alias()
    skill = SKILLS.alias()
    order = [held.c.proficiency.desc(), skill.c.name]
    inner = (
        select(
            held.c.proficiency,
            held.c.endorsements_count,
            skill.c.id,
            skill.c.name,
            skill.c.category,
            skill.c.description,
            func.row_number().over(order_by=order).label("gql_n"),
        )
        .join(skill, skill.c.id == held.c.skill_id)
        .where(held.c.user_id == row.c.id)
        .correlate(row)
        .order_by(*order)
        .subquery()
    )
    element = b.object("UserSkill", inner, selected.nodes)
    query = select(b.dialect.array(element, inner.c.gql_n)).select_from(inner)
    query = query.scalar_subquery()
    return b.dialect.nested(query)


def _skill_of_user_skill(b: Builder, row: Any, selected: Selected) -> Any:
    return b.object("Skill", row, selected.nodes)


def _vouch_min_zero(b: Builder, row: Any) -> Any:
    if b.settings.vouch_min_reputation > 0:
        raise Unsupported("User.viewerCanVouch")
    if not b.signed_in:
        return literal_column("1 = 0")
    return b.dialect.truth(row.c.id != b.viewer_id)


register(
    "User",
    User.__table__,
    email=Computed(_email),
    roles=Custom(_roles),
    skills=Custom(_user_skills),
    reputation=Refused("User.reputation"),
    viewerCanVouch=Computed(_vouch_min_zero),
    contributions=Connection(
        lambda b, args, parent: contributions.contribution_listing(
            contributions.ContributionFilter(user_id=parent)
        )
    ),
    vouchesReceived=Connection(
        lambda b, args, parent: vouches.vouch_listing(vouches.VouchFilter(vouchee_id=parent))
    ),
    vouchesGiven=Connection(
        lambda b, args, parent: vouches.vouch_listing(vouches.VouchFilter(voucher_id=parent))
    ),
    tasksCreated=Connection(
        lambda b, args, parent: task_queries.task_listing(
            task_queries.TaskFilter(creator_id=parent), task_queries.TaskOrder()
        )
    ),
    tasksAssigned=Connection(
        lambda b, args, parent: task_queries.task_listing(
            task_queries.TaskFilter(assignee_id=parent), task_queries.TaskOrder()
        )
    ),
)
register(
    "UserSkill",
    None,
    skill=Custom(_skill_of_user_skill),
    proficiency=Column("proficiency"),
    endorsementsCount=Column("endorsements_count"),
)
