from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from gotong_gql.reputation.service import Reputation


@strawberry.enum(description="The Markov Engine's reputation tiers, lowest first.")
class ReputationTier(Enum):
    NEWCOMER = strawberry.enum_value("newcomer", description="New, or little confirmed work.")
    CONTRIBUTOR = strawberry.enum_value("contributor", description="Regular confirmed work.")
    TRUSTED = strawberry.enum_value("trusted", description="A record others rely on.")
    STEWARD = strawberry.enum_value("steward", description="The highest tier.")


TIERS = {tier.value: tier for tier in ReputationTier}


@strawberry.type(description="How competent the Markov Engine judges a user in one skill.")
class SkillCompetence:
    skill_id: strawberry.ID = strawberry.field(description="The global id of a `Skill`.")
    competence: float = strawberry.field(description="As the Markov Engine reports it.")


@strawberry.type(name="Reputation", description="What the Markov Engine says of a user.")
class ReputationType:
    score: float = strawberry.field(description="The reputation score the Markov Engine computed.")
    tier: ReputationTier | None = strawberry.field(
        description="Null when Markov names none, or a tier this server does not know yet."
    )
    contributions_count: int = strawberry.field(
        description="The user's contributions the Markov Engine has counted."
    )
    vouches_received: int = strawberry.field(
        description="The vouches for the user the Markov Engine has counted."
    )
    skills: list[SkillCompetence] = strawberry.field(description="Competence per skill.")
    cached_at: datetime = strawberry.field(
        description="When this value was read from the Markov Engine (it is cached 5 minutes)."
    )
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
