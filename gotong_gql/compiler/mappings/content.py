"""Contribution, Verification and Vouch, and their root fields (Contribution's evidence and its
quality: mappings/evidence.py)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, literal, select

from gotong_gql.compiler.build import Builder
from gotong_gql.compiler.connection import Connection
from gotong_gql.compiler.mappings.root import by_global_id
from gotong_gql.compiler.mappings.tasks import SKILLS, TASKS, user_by
from gotong_gql.compiler.registry import SPECS, register
from gotong_gql.compiler.specs import Computed, Join
from gotong_gql.contribution import rules as contribution_rules
from gotong_gql.contribution import service as contributions
from gotong_gql.contribution.models import Contribution, ContributionSkill, Verification
from gotong_gql.contribution.resolvers import _filter as contribution_filter
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.keyset import Listing
from gotong_gql.vouch import service as vouches
from gotong_gql.vouch.models import Vouch


def _contribution_skills(row: Any, skill: Any) -> Any:
    linked = ContributionSkill.__table__
    chosen = select(linked.c.skill_id).where(linked.c.contribution_id == row.c.id).correlate(row)
    return skill.c.id.in_(chosen)


def _multiplier(b: Builder, row: Any) -> Any:
    """contribution/verification.py's reputation_multiplier, in SQL."""
    score = row.c.evidence_quality_score
    return case((score < 0.6, literal(1.0)), (score < 0.8, literal(1.2)), else_=literal(1.5))


def _verifications(b: Builder, args: dict[str, Any], parent: uuid.UUID | None) -> Listing:
    query = select(Verification).where(Verification.contribution_id == parent)
    return Listing(query, contributions.VERIFICATION_ORDER)


register(
    "Contribution",
    Contribution.__table__,
    user=user_by("user_id"),
    task=Join(TASKS, lambda row, task: task.c.id == row.c.task_id),
    skills=Join(SKILLS, _contribution_skills, order=lambda skill: [skill.c.name]),
    viewerCanVerify=Computed(
        lambda b, row: b.dialect.truth(contribution_rules.MAY_VERIFY.sql(row, b))
    ),
    viewerCanAddEvidence=Computed(
        lambda b, row: b.dialect.truth(contribution_rules.MAY_ADD_EVIDENCE.sql(row, b))
    ),
    verifications=Connection(_verifications),
)
register(
    "Verification",
    Verification.__table__,
    verifier=user_by("verifier_id"),
    reputationMultiplier=Computed(_multiplier),
)
register(
    "Vouch",
    Vouch.__table__,
    voucher=user_by("voucher_id"),
    vouchee=user_by("vouchee_id"),
    skill=Join(SKILLS, lambda row, skill: skill.c.id == row.c.skill_id),
)


def _vouches(b: Builder, args: dict[str, Any], parent: uuid.UUID | None) -> Listing:
    wanted = args.get("filter")
    voucher = getattr(wanted, "voucher_id", None)
    vouchee = getattr(wanted, "vouchee_id", None)
    return vouches.vouch_listing(
        vouches.VouchFilter(
            voucher_id=parse_global_id(voucher, "User", "filter.voucherId") if voucher else None,
            vouchee_id=parse_global_id(vouchee, "User", "filter.voucheeId") if vouchee else None,
            skill=getattr(wanted, "skill", None),
        )
    )


SPECS["Query"].update(
    contribution=by_global_id("Contribution"),
    contributions=Connection(
        lambda b, args, parent: contributions.contribution_listing(
            contribution_filter(args.get("filter"))
        ),
        nested=False,
    ),
    vouches=Connection(_vouches, nested=False),
)
