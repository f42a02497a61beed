"""Verification: verifiers approve or reject contributions; a quorum decides.

Evidence quality (0..1) starts at 0.5 and adds 0.2 for a verified photo, 0.15 for a GPS fix,
0.15 for a witness attestation, 0.05 for a GPS accuracy under 10 m and 0.05 for more than two
witnesses, capped at 1. Its reputation multiplier is 1.0 below 0.6, 1.2 below 0.8, 1.5 from 0.8.

Consensus: once VERIFICATION_QUORUM verifiers have given an outcome, the weighted majority
decides. A verifier's weight is 1 + their reputation score when Markov's reputation is known
(cached), 1 otherwise; equal weights on both sides leave the contribution pending.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record, snapshot
from gotong_gql.contribution import rules
from gotong_gql.contribution.models import Contribution, ContributionSkill, Verification
from gotong_gql.credit import earning
from gotong_gql.db import utcnow
from gotong_gql.errors import forbidden, not_found, validate
from gotong_gql.evidence.models import Evidence, Witness
from gotong_gql.reputation.models import ReputationCache
from gotong_gql.skill.proficiency import refresh_user_skills
from gotong_gql.uow import UnitOfWork

if TYPE_CHECKING:
    from gotong_gql.services import Services

VERIFICATION_FIELDS = ("outcome", "evidence_quality_score", "notes")


class VerificationData(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Literal["approved", "rejected"]
    evidence_quality_score: Annotated[float, Field(ge=0, le=1)] | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


def quality_score(
    *,
    photo: bool,
    gps: bool,
    witness: bool,
    gps_accuracy_m: float | None,
    witnesses: int,
) -> float:
    score = 0.5
    score += 0.2 if photo else 0
    score += 0.15 if gps else 0
    score += 0.15 if witness else 0
    score += 0.05 if gps_accuracy_m is not None and gps_accuracy_m < 10 else 0
    score += 0.05 if witnesses > 2 else 0
    return round(min(1.0, score), 4)


def reputation_multiplier(score: float) -> float:
    if score < 0.6:
        return 1.0
    if score < 0.8:
        return 1.2
    return 1.5


async def evidence_qualities(
    session: AsyncSession, contribution_ids: list[uuid.UUID]
) -> dict[uuid.UUID, float]:
    """The quality score of each contribution's verified evidence (two statements in all)."""
    evidence = list(
        await session.scalars(
            select(Evidence).where(
                Evidence.contribution_id.in_(contribution_ids), Evidence.status == "verified"
            )
        )
    )
    witness_counts = dict(
        (
            await session.execute(
                select(Evidence.contribution_id, func.count())
                .join(Witness, Witness.evidence_id == Evidence.id)
                .where(
                    Evidence.contribution_id.in_(contribution_ids), Evidence.status == "verified"
                )
                .group_by(Evidence.contribution_id)
            )
        ).all()
    )
    by_contribution: dict[uuid.UUID, list[Evidence]] = defaultdict(list)
    for item in evidence:
        by_contribution[item.contribution_id].append(item)
    scores = {}
    for contribution_id in contribution_ids:
        items = by_contribution[contribution_id]
        kinds = {item.evidence_type for item in items}
        accuracies = [
            item.accuracy_m
            for item in items
            if item.evidence_type == "gps_verification" and item.accuracy_m is not None
        ]
        scores[contribution_id] = quality_score(
            photo="photo_with_timestamp" in kinds,
            gps="gps_verification" in kinds,
            witness="witness_attestation" in kinds,
            gps_accuracy_m=min(accuracies) if accuracies else None,
            witnesses=witness_counts.get(contribution_id, 0),
        )
    return scores


async def verify_contribution(
    uow: UnitOfWork,
    services: Services,
    roles: frozenset[str],
    contribution_id: uuid.UUID,
    raw: dict[str, Any],
) -> tuple[Contribution, Verification]:
    if not rules.is_verifier(roles):
        raise forbidden("only verifiers verify contributions")
    contribution = await uow.session.get(Contribution, contribution_id, with_for_update=True)
    if contribution is None:
        raise not_found("contribution", "contributionId")
    if rules.owns(contribution, uow.actor_id):
        raise forbidden("nobody verifies their own contribution")
    data = validate(VerificationData, raw)
    quality = (await evidence_qualities(uow.session, [contribution.id]))[contribution.id]
    score = quality if data.evidence_quality_score is None else data.evidence_quality_score
    verification = await uow.session.scalar(
        select(Verification).where(
            Verification.contribution_id == contribution.id,
            Verification.verifier_id == uow.actor_id,
        )
    )
    if verification is None:
        verification = Verification(
            contribution_id=contribution.id,
            verifier_id=uow.actor_id,
            outcome=data.outcome,
            evidence_quality_score=score,
            notes=data.notes,
        )
        uow.session.add(verification)
        await uow.session.flush()
        record(
            uow,
            "verification.create",
            "verification",
            verification.id,
            after=snapshot(verification, VERIFICATION_FIELDS),
        )
    else:  # a changed mind: the same row, updated, with its audit entry
        before = snapshot(verification, VERIFICATION_FIELDS)
        verification.outcome = data.outcome
        verification.evidence_quality_score = score
        verification.notes = data.notes
        verification.updated_at = utcnow()
        record(
            uow,
            "verification.update",
            "verification",
            verification.id,
            before=before,
            after=snapshot(verification, VERIFICATION_FIELDS),
        )
    contribution.evidence_quality_score = quality
    await uow.session.flush()  # the consensus below counts this verification
    await _apply_consensus(uow, services, contribution)
    await uow.session.flush()
    return contribution, verification


async def _apply_consensus(uow: UnitOfWork, services: Services, contribution: Contribution) -> None:
    session = uow.session
    votes = list(
        (
            await session.execute(
                select(Verification.outcome, ReputationCache.score)
                .outerjoin(ReputationCache, ReputationCache.user_id == Verification.verifier_id)
                .where(
                    Verification.contribution_id == contribution.id,
                    Verification.outcome.in_(("approved", "rejected")),
                )
            )
        ).all()
    )
    status = "pending"
    if len(votes) >= services.settings.verification_quorum:
        approve = sum(1 + (score or 0) for outcome, score in votes if outcome == "approved")
        reject = sum(1 + (score or 0) for outcome, score in votes if outcome == "rejected")
        if approve > reject:
            status = "verified"
        elif reject > approve:
            status = "rejected"
    if status == contribution.verification_status:
        return
    before = {"verification_status": contribution.verification_status}
    contribution.verification_status = status
    contribution.updated_at = utcnow()
    record(
        uow,
        "contribution.verification_status",
        "contribution",
        contribution.id,
        before=before,
        after={"verification_status": status, "verifications": len(votes)},
    )
    await session.flush()
    skill_ids = list(
        await session.scalars(
            select(ContributionSkill.skill_id).where(
                ContributionSkill.contribution_id == contribution.id
            )
        )
    )
    await refresh_user_skills(session, contribution.user_id, skill_ids)
    # The verdict settles the task's credit in this same unit of work (credit/earning.py).
    await earning.settle(uow, contribution, status)
    message = {
        "type": status.upper(),
        "contribution_id": str(contribution.id),
        "at": utcnow().isoformat(),
    }
    uow.publish_after_commit(f"contribution:{contribution.id}", message)
