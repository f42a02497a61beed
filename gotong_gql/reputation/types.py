from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from gotong_gql.reputation.service import Reputation


@strawberry.enum(description="The Markov Engine's reputation tiers, lowest first.")
class ReputationTier(Enum):
    NEWCOMER = "newcomer"
    CONTRIBUTOR = "contributor"
    TRUSTED = "trusted"
    STEWARD = "steward"


TIERS = {tier.value: tier for tier in ReputationTier}


@strawberry.type
class SkillCompetence:
    skill_id: strawberry.ID = strawberry.field(description="The global id of a `Skill`.")
    competence: float


@strawberry.type(name="Reputation", description="What the Markov Engine says of a user.")
class ReputationType:
    score: float
    tier: ReputationTier | None = strawberry.field(
        description="Null when Markov names none, or a tier this server does not know yet."
    )
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
            tier=TIERS.get(value.tier or ""),
            contributions_count=value.contributions_count,
            vouches_received=value.vouches_received,
            skills=[
                SkillCompetence(
                    skill_id=strawberry.ID(str(relay.GlobalID("Skill", str(skill["skill_id"])))),
                    competence=float(skill.get("competence", 0)),
                )
                for skill in value.skills
                if skill.get("skill_id")
            ],
            cached_at=value.cached_at,
            stale=value.stale,
        )
