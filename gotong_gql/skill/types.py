from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry import relay

from gotong_gql.graphql.nodes import load_nodes
from gotong_gql.skill.models import Skill, UserSkill


@strawberry.type(
    name="Skill",
    description="Something people can do, named by tasks, profiles and vouches; created the "
    "first time a name is used.",
)
class SkillType(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(
        description="A unique lowercase slug of at most 100 characters (`web-development`)."
    )
    category: str | None = strawberry.field(description="A grouping of skills; null if unset.")
    description: str | None = strawberry.field(description="What the skill covers; null if unset.")

    @classmethod
    def from_row(cls, row: Skill) -> SkillType:
        return cls(
            id=str(row.id), name=row.name, category=row.category, description=row.description
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await load_nodes(info, Skill, node_ids, cls.from_row)


@strawberry.type(
    name="UserSkill", description="A skill of one user: declared, or shown by verified work."
)
class UserSkillType:
    skill: SkillType = strawberry.field(description="The skill.")
    proficiency: float = strawberry.field(
        description="0 to 1: 0.15 per verified contribution with the skill plus 0.05 per "
        "endorsement, at most 1; 0 for a skill only declared in the profile."
    )
    endorsements_count: int = strawberry.field(
        description="How many vouches name this skill for this user."
    )

    @classmethod
    def from_rows(cls, user_skill: UserSkill, skill: Skill) -> UserSkillType:
        return cls(
            skill=SkillType.from_row(skill),
            proficiency=user_skill.proficiency,
            endorsements_count=user_skill.endorsements_count,
        )
