"""What follows a verdict on a piece of evidence, for both ways in (an upload the job judged, a
proof submitted without a file): its warnings, its `por_evidence` event to Markov and the live
updates after commit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.contribution.models import Contribution
from gotong_gql.db import utcnow
from gotong_gql.evidence import media, rules
from gotong_gql.evidence.models import Evidence, Witness
from gotong_gql.task.models import Task
from gotong_gql.task.service import publish_task_event
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.models import User
from gotong_gql.webhook.outbox import write_event

if TYPE_CHECKING:
    from gotong_gql.services import Services


def exif_warnings(evidence: Evidence, exif: media.ExifFacts | None) -> list[dict[str, str]]:
    warnings = []
    if exif and exif.captured_at and evidence.timestamp:
        captured = exif.captured_at
        if captured.tzinfo is None:  # the camera's clock, read in the proof's zone
            captured = captured.replace(tzinfo=evidence.timestamp.tzinfo)
        if abs(captured - evidence.timestamp) > rules.EXIF_TIME_TOLERANCE:
            warnings.append(
                rules.warning(
                    "EXIF_TIME_MISMATCH",
                    "the photo's capture time is more than 60 s from the proof",
                )
            )
    return warnings


def accuracy_warnings(accuracy: float | None) -> list[dict[str, str]]:
    if accuracy is not None and accuracy > rules.POOR_GPS_ACCURACY_M:
        return [rules.warning("POOR_GPS_ACCURACY", "GPS accuracy is worse than 100 m")]
    return []


def stable_url(services: Services, key: str) -> str:
    """A lasting reference for the event (presigned URLs expire; the bytes of an event don't)."""
    settings = services.settings
    if settings.s3_endpoint_url:
        return f"{settings.s3_endpoint_url.rstrip('/')}/{settings.s3_bucket}/{key}"
    return f"{settings.public_base_url.rstrip('/')}/objects/{key}"


async def spread_warnings(session: AsyncSession, evidence: Evidence) -> list[dict[str, str]]:
    others = list(
        await session.scalars(
            select(Evidence).where(
                Evidence.contribution_id == evidence.contribution_id,
                Evidence.status == "verified",
                Evidence.id != evidence.id,
            )
        )
    )
    everything = [*others, evidence]
    moments = [item.timestamp for item in everything if item.timestamp]
    places = [
        (item.latitude, item.longitude)
        for item in everything
        if item.latitude is not None and item.longitude is not None
    ]
    return rules.spread_warnings(moments, places)


async def announce(
    uow: UnitOfWork, services: Services, evidence: Evidence, evidence_data: dict[str, Any]
) -> None:
    """The `por_evidence` event of a verified piece of evidence."""
    uploader = await uow.session.get(User, evidence.uploader_id)
    witnesses = list(
        await uow.session.scalars(select(Witness).where(Witness.evidence_id == evidence.id))
    )
    proof: dict[str, Any] = {"timestamp": rfc3339(evidence.timestamp)}
    if evidence.latitude is not None:
        proof["location"] = {"lat": evidence.latitude, "lon": evidence.longitude}
    if evidence.media_hash:
        proof["media_hash"] = evidence.media_hash
    if witnesses:
        proof["witnesses"] = [
            {
                "witness_name": w.witness_name,
                "relationship": w.relationship,
                "statement": w.statement or "",
            }
            for w in witnesses
        ]
    write_event(
        uow,
        "por_evidence",
        uploader,
        {
            "contribution_id": str(evidence.contribution_id),
            "evidence_id": str(evidence.id),
            "evidence_type": evidence.evidence_type,
            "evidence_data": evidence_data,
        },
        proof=proof,
    )


def rfc3339(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


async def publish_status(uow: UnitOfWork, evidence: Evidence) -> None:
    """Live updates after commit: the evidence's own status; EVIDENCE_ADDED on its task."""
    message = {
        "evidence_id": str(evidence.id),
        "contribution_id": str(evidence.contribution_id),
        "status": evidence.status,
        "at": utcnow().isoformat(),
    }
    uow.publish_after_commit(f"evidence:{evidence.contribution_id}", message)
    if evidence.status != "verified":
        return
    contribution = await uow.session.get(Contribution, evidence.contribution_id)
    if contribution.task_id is not None:
        task = await uow.session.get(Task, contribution.task_id)
        publish_task_event(uow, "EVIDENCE_ADDED", task)
