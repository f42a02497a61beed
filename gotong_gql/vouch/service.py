"""Vouches: one person endorses another, for a skill or in general. Emits `vouch_submitted`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gotong_gql.audit.service import record, snapshot
from gotong_gql.errors import DomainError, not_found, validate
from gotong_gql.keyset import Key, Listing, Order
from gotong_gql.reputation.service import Reputation, reputation_of
from gotong_gql.skill.models import Skill
from gotong_gql.skill.proficiency import refresh_user_skills
from gotong_gql.skill.service import ensure_skills, normalise_skill_names
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.models import User
from gotong_gql.vouch import rules
from gotong_gql.vouch.codes import VouchErrorCode
from gotong_gql.vouch.models import Vouch
from gotong_gql.webhook.outbox import write_event

if TYPE_CHECKING:
    from gotong_gql.services import Services

VOUCH_FIELDS = ("voucher_id", "vouchee_id", "skill_id", "weight_hint", "message")


class VouchData(BaseModel):
    model_config = ConfigDict(frozen=True)

    skill: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None
    weight_hint: Literal["strong", "moderate", "light"] | None = None
    message: Annotated[str, StringConstraints(max_length=500)] | None = None


async def voucher_reputation(services: Services, voucher: User) -> Reputation | None:
    """The voucher's reputation when a minimum applies. Read before the unit of work: it may
    ask Markov (a network call) and store the answer in its own transaction."""
    if services.settings.vouch_min_reputation <= 0:
        return None
    return await reputation_of(services, voucher.id, voucher.markov_user_id)


async def create_vouch(
    uow: UnitOfWork,
    services: Services,
    voucher: User,
    vouchee_id: uuid.UUID,
    raw: dict[str, Any],
    reputation: Reputation | None,
) -> Vouch:
    data = validate(VouchData, raw)
    if rules.is_self(vouchee_id, voucher.id):
        raise DomainError(VouchErrorCode.SELF_VOUCH, "you cannot vouch for yourself", "voucheeId")
    vouchee = await uow.session.get(User, vouchee_id)
    if vouchee is None:
        raise not_found("vouchee", "voucheeId")
    minimum = services.settings.vouch_min_reputation
    if not rules.reputation_suffices(reputation.score if reputation else None, minimum):
        raise DomainError(
            VouchErrorCode.REPUTATION_TOO_LOW,
            f"vouching needs a reputation of at least {minimum:g}",
            None,
        )
    skill: Skill | None = None
    if data.skill is not None:
        (skill,) = await ensure_skills(uow.session, normalise_skill_names([data.skill], "skill"))
    if await _exists(uow.session, voucher.id, vouchee_id, skill):
        raise DomainError(VouchErrorCode.DUPLICATE_VOUCH, _duplicate_message(skill), "voucheeId")
    vouch = Vouch(
        voucher_id=voucher.id,
        vouchee_id=vouchee_id,
        skill_id=skill.id if skill else None,
        weight_hint=data.weight_hint,
        message=data.message,
    )
    uow.session.add(vouch)
    try:
        await uow.session.flush()
    except IntegrityError:  # a concurrent twin got in first
        raise DomainError(
            VouchErrorCode.DUPLICATE_VOUCH, _duplicate_message(skill), "voucheeId"
        ) from None
    if skill is not None:
        await refresh_user_skills(uow.session, vouchee_id, [skill.id])
    record(uow, "vouch.create", "vouch", vouch.id, after=snapshot(vouch, VOUCH_FIELDS))
    write_event(
        uow,
        "vouch_submitted",
        voucher,
        {
            "vouchee_id": str(vouchee_id),
            "skill_id": str(skill.id) if skill else None,
            "weight_hint": data.weight_hint,
            "message": data.message or "",
        },
    )
    return vouch


def _duplicate_message(skill: Skill | None) -> str:
    if skill is None:
        return "you already vouched for this person in general"
    return f"you already vouched for this person's {skill.name}"


async def _exists(
    session: AsyncSession, voucher_id: uuid.UUID, vouchee_id: uuid.UUID, skill: Skill | None
) -> bool:
    condition = Vouch.skill_id == skill.id if skill else Vouch.skill_id.is_(None)
    found = await session.scalar(
        select(Vouch.id).where(
            Vouch.voucher_id == voucher_id, Vouch.vouchee_id == vouchee_id, condition
        )
    )
    return found is not None


@dataclass(frozen=True)
class VouchFilter:
    voucher_id: uuid.UUID | None = None
    vouchee_id: uuid.UUID | None = None
    skill: str | None = None


VOUCH_ORDER = Order(
    "Vouch",
    "CREATED_AT_DESC",
    (Key(Vouch.created_at, "timestamp", True), Key(Vouch.id, "uuid", True)),
)


def vouch_listing(vouch_filter: VouchFilter) -> Listing:
    """Vouches newest first, each with its voucher, vouchee and skill (one statement)."""
    voucher_user, vouchee_user = aliased(User, name="voucher"), aliased(User, name="vouchee")
    query = (
        select(Vouch, voucher_user, vouchee_user, Skill)
        .join(voucher_user, voucher_user.id == Vouch.voucher_id)
        .join(vouchee_user, vouchee_user.id == Vouch.vouchee_id)
        .outerjoin(Skill, Skill.id == Vouch.skill_id)
    )
    if vouch_filter.voucher_id:
        query = query.where(Vouch.voucher_id == vouch_filter.voucher_id)
    if vouch_filter.vouchee_id:
        query = query.where(Vouch.vouchee_id == vouch_filter.vouchee_id)
    if vouch_filter.skill:
        slug = normalise_skill_names([vouch_filter.skill], "filter.skill")[0]
        query = query.where(Skill.name == slug)
    return Listing(query, VOUCH_ORDER)
