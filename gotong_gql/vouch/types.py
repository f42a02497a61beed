from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import UserError
from gotong_gql.graphql.nodes import load_nodes
from gotong_gql.skill.models import Skill
from gotong_gql.skill.types import SkillType
from gotong_gql.user.models import User
from gotong_gql.user.types import UserType
from gotong_gql.vouch.models import Vouch


@strawberry.enum
class WeightHint(Enum):
    STRONG = "strong"
    MODERATE = "moderate"
    LIGHT = "light"


@strawberry.type(name="Vouch", description="One person's endorsement of another.")
class VouchType(relay.Node):
    id: relay.NodeID[str]
    weight_hint: WeightHint | None
    message: str | None
    created_at: datetime
    row: strawberry.Private[Vouch]

    @classmethod
    def from_row(cls, row: Vouch) -> VouchType:
        return cls(
            id=str(row.id),
            weight_hint=WeightHint(row.weight_hint) if row.weight_hint else None,
            message=row.message,
            created_at=row.created_at,
            row=row,
        )

    @classmethod
    def from_joined(
        cls, context: Context, row: Vouch, voucher: User, vouchee: User, skill: Skill | None
    ) -> VouchType:
        """A vouch read with its people and skill in one statement: prime the loaders."""
        context.loaders.users_by_id.prime(voucher.id, voucher)
        context.loaders.users_by_id.prime(vouchee.id, vouchee)
        if skill is not None:
            context.loaders.skills_by_id.prime(skill.id, skill)
        return cls.from_row(row)

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await load_nodes(info, Vouch, node_ids, cls.from_row)

    @strawberry.field
    async def voucher(self, info: strawberry.Info[Context, None]) -> UserType:
        user = await info.context.loaders.users_by_id.load(self.row.voucher_id)
        return UserType.from_row(user)

    @strawberry.field
    async def vouchee(self, info: strawberry.Info[Context, None]) -> UserType:
        user = await info.context.loaders.users_by_id.load(self.row.vouchee_id)
        return UserType.from_row(user)

    @strawberry.field(description="Null for a general vouch.")
    async def skill(self, info: strawberry.Info[Context, None]) -> SkillType | None:
        if self.row.skill_id is None:
            return None
        skill = await info.context.loaders.skills_by_id.load(self.row.skill_id)
        return SkillType.from_row(skill) if skill else None


@strawberry.enum
class VouchErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    SELF_VOUCH = "SELF_VOUCH"
    DUPLICATE_VOUCH = "DUPLICATE_VOUCH"
    REPUTATION_TOO_LOW = "REPUTATION_TOO_LOW"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"


@strawberry.type
class VouchError(UserError):
    code: VouchErrorCode


@strawberry.input
class VouchCreateInput:
    vouchee_id: strawberry.ID
    skill: str | None = strawberry.field(
        default=None, description="A skill name; none for a general vouch."
    )
    weight_hint: WeightHint | None = None
    message: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.type
class VouchCreatePayload:
    vouch: VouchType | None
    errors: list[VouchError]


@strawberry.input
class VouchFilterInput:
    voucher_id: strawberry.ID | None = None
    vouchee_id: strawberry.ID | None = None
    skill: str | None = None
