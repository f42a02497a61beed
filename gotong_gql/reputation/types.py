from __future__ import annotations

from datetime import datetime

import strawberry

from gotong_gql.reputation.service import Reputation


@strawberry.type
class SkillCompetence:
    skill_id: str
    competence: float


@strawberry.type(name="Reputation", description="What the Markov Engine says of a user.")
class ReputationType:
    score: float
    tier: str | None
    contributions_count: int
    vouches_received: int
    skills: list[SkillCompetence]
    cached_at: datetime
    stale: bool = strawberry.field(
        description="True when Markov could not be reached and this is the last known value."
    )

    @classmethod
    def from_value(cls, value: Reputation) -> ReputationType:
        return cls(
            score=value.score,
            tier=value.tier,
            contributions_count=value.contributions_count,
            vouches_received=value.vouches_received,
            skills=[
                SkillCompetence(
                    skill_id=str(skill.get("skill_id")),
                    competence=float(skill.get("competence", 0)),
                )
                for skill in value.skills
            ],
            cached_at=value.cached_at,
            stale=value.stale,
        )
