from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import CODE, ERRORS, UserError, error_code_enum
from gotong_gql.graphql.loaders import now_or_later
from gotong_gql.graphql.nodes import load_nodes
from gotong_gql.skill.models import Skill
from gotong_gql.skill.types import SkillType
from gotong_gql.user.models import User
from gotong_gql.user.types import UserType
from gotong_gql.vouch import codes
from gotong_gql.vouch.models import Vouch


@strawberry.enum(description="How strongly the voucher stands behind a vouch (sent to Markov).")
class WeightHint(Enum):
    STRONG = strawberry.enum_value("strong", description="Without reservation.")
    MODERATE = strawberry.enum_value("moderate", description="With some first-hand knowledge.")
    LIGHT = strawberry.enum_value("light", description="A light endorsement.")


@strawberry.type(name="Vouch", description="One person's endorsement of another.")
class VouchType(relay.Node):
    id: relay.NodeID[str]
    weight_hint: WeightHint | None = strawberry.field(
        description="How strongly; null when the voucher gave none."
    )
    message: str | None = strawberry.field(
        description="The voucher's words, at most 500 characters; null if none."
    )
    created_at: datetime = strawberry.field(description="When the vouch was made.")
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

    # Synchronous: a page of vouches primed the loaders with its users and skills
    # (`from_joined`), so these answer at once (graphql/loaders.py).
    @strawberry.field(description="Who vouches.")
    def voucher(self, info: strawberry.Info[Context, None]) -> UserType:
        return now_or_later(info.context.loaders.users_by_id.load(self.row.voucher_id), _user)

    @strawberry.field(description="Who is vouched for.")
    def vouchee(self, info: strawberry.Info[Context, None]) -> UserType:
        return now_or_later(info.context.loaders.users_by_id.load(self.row.vouchee_id), _user)

    @strawberry.field(description="The skill vouched for; null for a general vouch.")
    def skill(self, info: strawberry.Info[Context, None]) -> SkillType | None:
        if self.row.skill_id is None:
            return None
        return now_or_later(info.context.loaders.skills_by_id.load(self.row.skill_id), _skill)


def _user(row: Any) -> UserType:
    return UserType.from_row(row)


def _skill(row: Any) -> SkillType | None:
    return SkillType.from_row(row) if row else None


VouchErrorCode = error_code_enum(codes.VouchErrorCode, "Why `vouchCreate` refused.")


@strawberry.type(description="Why `vouchCreate` refused; nothing was written.")
class VouchError(UserError):
    code: VouchErrorCode = strawberry.field(description=CODE)


@strawberry.input(description="A vouch by the viewer for another user.")
class VouchCreateInput:
    vouchee_id: strawberry.ID = strawberry.field(description="The user vouched for (a `User` id).")
    skill: str | None = strawberry.field(
        default=None, description="A skill name; none for a general vouch."
    )
    weight_hint: WeightHint | None = strawberry.field(default=None, description="How strongly.")
    message: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.type(description="The result of `vouchCreate`.")
class VouchCreatePayload:
    vouch: VouchType | None = strawberry.field(description="The new vouch; null when refused.")
    errors: list[VouchError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Which vouches to list; the fields given must all match.")
class VouchFilterInput:
    voucher_id: strawberry.ID | None = strawberry.field(
        default=None, description="Vouches given by this user."
    )
    vouchee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Vouches received by this user."
    )
    skill: str | None = strawberry.field(
        default=None, description="Vouches for the skill of this name."
    )
