from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry import relay

from gotong_gql.graphql.nodes import load_nodes
from gotong_gql.skill.models import Skill, UserSkill


@strawberry.type(name="Skill")
class SkillType(relay.Node):
    id: relay.NodeID[str]
    name: str
    category: str | None
    description: str | None

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


@strawberry.type(name="UserSkill")
class UserSkillType:
    skill: SkillType
    proficiency: float = strawberry.field(description="0..1")
    endorsements_count: int

    @classmethod
    def from_rows(cls, user_skill: UserSkill, skill: Skill) -> UserSkillType:
        return cls(
            skill=SkillType.from_row(skill),
            proficiency=user_skill.proficiency,
            endorsements_count=user_skill.endorsements_count,
        )
