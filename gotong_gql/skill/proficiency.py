"""How proficient a user is in a skill, from what others confirmed.

proficiency = min(1, 0.15 * verified contributions with the skill + 0.05 * endorsements)

A verified contribution is work that verifiers approved; an endorsement is a vouch that names the
skill. Seven verified contributions, or twenty endorsements, or a mix, make a user fully
proficient; declaring a skill in one's profile alone gives 0.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.contribution.models import Contribution, ContributionSkill
from gotong_gql.skill.models import UserSkill
from gotong_gql.vouch.models import Vouch

PER_VERIFIED_CONTRIBUTION = 0.15
PER_ENDORSEMENT = 0.05


def proficiency(verified_contributions: int, endorsements: int) -> float:
    score = PER_VERIFIED_CONTRIBUTION * verified_contributions + PER_ENDORSEMENT * endorsements
    return round(min(1.0, score), 4)


async def refresh_user_skills(
    session: AsyncSession, user_id: uuid.UUID, skill_ids: list[uuid.UUID]
) -> None:
    """Recount endorsements and verified work for these skills of the user; rows are created
    for skills the user had not declared."""
    if not skill_ids:
        return
    endorsements = dict(
        (
            await session.execute(
                select(Vouch.skill_id, func.count())
                .where(Vouch.vouchee_id == user_id, Vouch.skill_id.in_(skill_ids))
                .group_by(Vouch.skill_id)
            )
        ).all()
    )
    verified = dict(
        (
            await session.execute(
                select(ContributionSkill.skill_id, func.count())
                .join(Contribution, Contribution.id == ContributionSkill.contribution_id)
                .where(
                    Contribution.user_id == user_id,
                    Contribution.verification_status == "verified",
                    ContributionSkill.skill_id.in_(skill_ids),
                )
                .group_by(ContributionSkill.skill_id)
            )
        ).all()
    )
    rows = {
        row.skill_id: row
        for row in await session.scalars(
            select(UserSkill).where(UserSkill.user_id == user_id, UserSkill.skill_id.in_(skill_ids))
        )
    }
    for skill_id in skill_ids:
        row = rows.get(skill_id)
        if row is None:
            row = UserSkill(user_id=user_id, skill_id=skill_id)
            session.add(row)
        row.endorsements_count = endorsements.get(skill_id, 0)
        row.proficiency = proficiency(verified.get(skill_id, 0), row.endorsements_count)
    await session.flush()
