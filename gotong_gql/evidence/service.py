"""Proof of Reality evidence: uploads straight to object storage, hashing in a job, GPS fixes and
witness attestations checked by the SPEC 3 rules; `por_evidence` for every verified piece.

Uploads are for `photo_with_timestamp` (JPEG, PNG, HEIC; 50 KB to 10 MB) and for
`gps_verification` logs (GPX or JSON, up to 10 MB, with the fix's location). Witness attestations
carry no file: they go through `submit_evidence`, like GPS fixes without a log. The key is chosen
by the server (SPEC 3), so an object is never overwritten; nothing here deletes objects.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql import metrics, policy
from gotong_gql.audit.service import record, snapshot
from gotong_gql.contribution import rules as contribution_rules
from gotong_gql.contribution.models import Contribution
from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError, forbidden, not_found
from gotong_gql.evidence import media, rules, verdict
from gotong_gql.evidence.codes import EvidenceErrorCode
from gotong_gql.evidence.models import Evidence, Witness
from gotong_gql.storage.keys import evidence_key
from gotong_gql.storage.protocol import PresignedUpload
from gotong_gql.task.models import Task
from gotong_gql.uow import UnitOfWork, unit_of_work

if TYPE_CHECKING:
    from gotong_gql.services import Services

# Sent when an upload is confirmed; its handler is process_evidence below.
PROCESS_EVIDENCE = "process_evidence"
EVIDENCE_FIELDS = ("evidence_type", "status", "object_key", "media_hash", "rejection_reason")
UPLOAD_TYPES = {
    "photo_with_timestamp": media.PHOTO_TYPES,
    "gps_verification": frozenset({media.GPX, media.JSON}),
}
KEY_CATEGORY = {"photo_with_timestamp": "photos", "gps_verification": "gps"}


@dataclass(frozen=True)
class UploadRequested:
    evidence: Evidence
    upload: PresignedUpload


def may_see(
    viewer_id: uuid.UUID,
    roles: frozenset[str],
    contribution: Contribution,
    task_creator_id: uuid.UUID | None,
) -> bool:
    """Evidence is for the contributor, the task's creator, verifiers and admins (SPEC 1): the
    rule the compiled reads use too (policy.SEES_EVIDENCE)."""
    scope = policy.Columns(user_id=contribution.user_id, task_creator_id=task_creator_id)
    return policy.SEES_EVIDENCE.allows(scope, viewer_id, roles)


async def contribution_with_creator(
    session: AsyncSession, contribution_id: uuid.UUID
) -> tuple[Contribution, uuid.UUID | None] | None:
    """The contribution and its task's creator (None for standalone work): what `may_see` reads."""
    row = (
        await session.execute(
            select(Contribution, Task.creator_id)
            .outerjoin(Task, Task.id == Contribution.task_id)
            .where(Contribution.id == contribution_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def visible_contribution(
    session: AsyncSession, viewer_id: uuid.UUID, roles: frozenset[str], contribution_id: uuid.UUID
) -> Contribution | None:
    """The contribution, when this viewer may see its evidence."""
    found = await contribution_with_creator(session, contribution_id)
    if found is None or not may_see(viewer_id, roles, *found):
        return None
    return found[0]


async def _own_contribution(uow: UnitOfWork, contribution_id: uuid.UUID) -> Contribution:
    contribution = await uow.session.get(Contribution, contribution_id)
    if contribution is None:
        raise not_found("contribution", "contributionId")
    if not contribution_rules.may_add_evidence(contribution, uow.actor_id):
        raise forbidden("only the contributor adds evidence to a contribution")
    return contribution


def _location(raw: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    location = raw.get("location")
    if location is None:
        return None, None, None
    lat, lon = rules.check_location(location)
    return lat, lon, location.get("accuracy_meters")


async def request_upload(
    uow: UnitOfWork, services: Services, raw: dict[str, Any]
) -> UploadRequested:
    contribution = await _own_contribution(uow, raw["contribution_id"])
    evidence_type = raw["evidence_type"]
    allowed = UPLOAD_TYPES.get(evidence_type)
    if allowed is None:
        raise DomainError(
            EvidenceErrorCode.INVALID_EVIDENCE_TYPE,
            "witness attestations carry no file: use evidenceSubmit",
            "evidenceType",
        )
    content_type = raw["content_type"].strip().lower()
    if content_type not in allowed:
        raise DomainError(
            EvidenceErrorCode.INVALID_PAYLOAD,
            f"{evidence_type.upper()} accepts {', '.join(sorted(allowed))}",
            "contentType",
        )
    size = raw["size_bytes"]
    if not media.size_allowed(content_type, size):
        raise DomainError(EvidenceErrorCode.INVALID_PAYLOAD, _size_rule(content_type), "sizeBytes")
    moment = rules.parse_timestamp(raw["timestamp"])
    claimed = raw.get("media_hash")
    if claimed is not None:
        claimed = rules.check_media_hash(claimed)
    lat, lon, accuracy = _location(raw)
    if evidence_type == "gps_verification" and lat is None:
        raise DomainError(
            EvidenceErrorCode.INVALID_COORDINATES, "a GPS log needs its location", "location"
        )
    key = evidence_key(
        KEY_CATEGORY[evidence_type],
        uow.actor_id,
        contribution.id,
        media.FILE_EXTENSIONS[content_type],
    )
    evidence = Evidence(
        contribution_id=contribution.id,
        uploader_id=uow.actor_id,
        evidence_type=evidence_type,
        status="pending_upload",
        object_key=key,
        content_type=content_type,
        size_bytes=size,
        claimed_media_hash=claimed,
        timestamp=moment,
        latitude=lat,
        longitude=lon,
        accuracy_m=accuracy,
    )
    uow.session.add(evidence)
    await uow.session.flush()
    record(
        uow,
        "evidence.upload_request",
        "evidence",
        evidence.id,
        after=snapshot(evidence, EVIDENCE_FIELDS),
    )
    upload = await services.storage.presign_put(key, content_type, max_bytes=size)
    return UploadRequested(evidence, upload)


def _size_rule(content_type: str) -> str:
    if content_type in media.PHOTO_TYPES:
        return "a photo is 50 KB to 10 MB"
    return "a file is at most 10 MB"


def _ensure_pending(evidence: Evidence) -> None:
    if evidence.status != "pending_upload":
        raise DomainError(
            EvidenceErrorCode.INVALID_TRANSITION,
            f"the evidence is {evidence.status.upper()}",
            "evidenceId",
        )


async def confirm_upload(uow: UnitOfWork, services: Services, evidence_id: uuid.UUID) -> Evidence:
    evidence = await uow.session.get(Evidence, evidence_id)
    if evidence is None:
        raise not_found("evidence", "evidenceId")
    if evidence.uploader_id != uow.actor_id:
        raise forbidden("only the uploader confirms an upload")
    _ensure_pending(evidence)
    # Ask the store first (a network call on S3), lock the row after, then check again.
    info = await services.storage.stat(evidence.object_key)
    if info is None:
        raise DomainError(
            EvidenceErrorCode.NOT_UPLOADED, "no object has been uploaded yet", "evidenceId"
        )
    await uow.session.refresh(evidence, with_for_update=True)
    _ensure_pending(evidence)
    before = snapshot(evidence, EVIDENCE_FIELDS)
    evidence.status = "processing"
    evidence.updated_at = utcnow()
    evidence.metadata_ = {**evidence.metadata_, "uploaded_size": info.size, "etag": info.etag}
    record(
        uow,
        "evidence.upload_confirm",
        "evidence",
        evidence.id,
        before=before,
        after=snapshot(evidence, EVIDENCE_FIELDS),
    )
    uow.enqueue_after_commit(PROCESS_EVIDENCE, str(evidence.id))
    return evidence


async def process_evidence(services: Services, evidence_id: str) -> None:
    """The job: stream the object once (hash, real type, EXIF), judge it, record the verdict.
    Running it again changes nothing more."""
    async with services.session_factory() as session:
        evidence = await session.get(Evidence, uuid.UUID(evidence_id))
    if evidence is None or evidence.status != "processing":
        return
    started = time.perf_counter()
    async with contextlib.aclosing(services.storage.iter_chunks(evidence.object_key)) as chunks:
        facts = await media.inspect_stream(chunks)
    metrics.EVIDENCE_PROCESSING_SECONDS.observe(time.perf_counter() - started)
    async with (
        services.session_factory() as session,
        unit_of_work(
            session, services, actor_id=evidence.uploader_id, request_id=f"job-{evidence_id}"
        ) as uow,
    ):
        row = await session.get(Evidence, evidence.id, with_for_update=True)
        if row is None or row.status != "processing":
            return
        await _judge(uow, services, row, facts)


def _rejection(evidence: Evidence, facts: media.MediaFacts) -> str | None:
    allowed = UPLOAD_TYPES[evidence.evidence_type]
    if facts.content_type not in allowed:
        found = facts.content_type or "an unknown type"
        return f"the file is {found}, not one of {', '.join(sorted(allowed))}"
    if not media.size_allowed(facts.content_type, facts.size):
        return f"{_size_rule(facts.content_type)}; this one is {facts.size} bytes"
    if evidence.claimed_media_hash and evidence.claimed_media_hash != facts.sha256:
        return "the file's SHA-256 differs from the claimed media_hash"
    return None


async def _judge(
    uow: UnitOfWork, services: Services, evidence: Evidence, facts: media.MediaFacts
) -> None:
    before = snapshot(evidence, EVIDENCE_FIELDS)
    now = utcnow()
    evidence.media_hash = facts.sha256
    evidence.processed_at = evidence.updated_at = now
    exif = facts.exif.as_json() if facts.exif else None
    evidence.metadata_ = {
        **evidence.metadata_,
        "content_type": facts.content_type,
        "size_bytes": facts.size,
        "exif": exif,
    }
    reason = _rejection(evidence, facts)
    metrics.EVIDENCE_OUTCOMES.labels("rejected" if reason else "verified").inc()
    if reason is not None:
        evidence.status, evidence.rejection_reason = "rejected", reason
    else:
        evidence.status = "verified"
        evidence.warnings = [
            *verdict.exif_warnings(evidence, facts.exif),
            *verdict.accuracy_warnings(evidence.accuracy_m),
            *await verdict.spread_warnings(uow.session, evidence),
        ]
        await verdict.announce(
            uow,
            services,
            evidence,
            {
                "photo_url": verdict.stable_url(services, evidence.object_key),
                "content_type": facts.content_type,
                "size_bytes": facts.size,
                "exif": exif,
            },
        )
    record(
        uow,
        f"evidence.{evidence.status}",
        "evidence",
        evidence.id,
        before=before,
        after=snapshot(evidence, EVIDENCE_FIELDS),
    )
    await verdict.publish_status(uow, evidence)


async def submit_evidence(uow: UnitOfWork, services: Services, raw: dict[str, Any]) -> Evidence:
    """GPS fixes and witness attestations: checked now, verified at once, announced."""
    contribution = await _own_contribution(uow, raw["contribution_id"])
    evidence_type = raw["evidence_type"]
    if evidence_type not in ("gps_verification", "witness_attestation"):
        raise DomainError(
            EvidenceErrorCode.INVALID_EVIDENCE_TYPE,
            "photos are uploaded: use evidenceUploadRequest",
            "evidenceType",
        )
    moment = rules.parse_timestamp(raw["timestamp"])
    lat, lon, accuracy = _location(raw)
    if evidence_type == "gps_verification" and lat is None:
        raise DomainError(
            EvidenceErrorCode.INVALID_COORDINATES,
            "a GPS fix needs location.latitude and location.longitude",
            "location",
        )
    claimed = raw.get("media_hash")
    if claimed is not None:
        claimed = rules.check_media_hash(claimed)
    witnesses = []
    if evidence_type == "witness_attestation":
        witnesses = rules.check_witnesses(raw.get("witnesses"))
    evidence = Evidence(
        contribution_id=contribution.id,
        uploader_id=uow.actor_id,
        evidence_type=evidence_type,
        status="verified",
        media_hash=claimed,
        timestamp=moment,
        latitude=lat,
        longitude=lon,
        accuracy_m=accuracy,
        processed_at=utcnow(),
    )
    uow.session.add(evidence)
    await uow.session.flush()
    uow.session.add_all(
        Witness(
            evidence_id=evidence.id,
            witness_id=witness.get("witness_id"),
            witness_name=witness["witness_name"].strip(),
            relationship=witness["relationship"],
            statement=witness.get("statement"),
            contact=witness.get("contact"),
        )
        for witness in witnesses
    )
    await uow.session.flush()
    evidence.warnings = [
        *verdict.accuracy_warnings(accuracy),
        *await verdict.spread_warnings(uow.session, evidence),
    ]
    data: dict[str, Any] = {}
    if accuracy is not None:
        data["accuracy_m"] = accuracy
    if witnesses:
        data["witness_count"] = len(witnesses)
    await verdict.announce(uow, services, evidence, data)
    record(
        uow, "evidence.submit", "evidence", evidence.id, after=snapshot(evidence, EVIDENCE_FIELDS)
    )
    await verdict.publish_status(uow, evidence)
    return evidence


async def evidence_of(session: AsyncSession, contribution_id: uuid.UUID) -> list[Evidence]:
    return list(
        await session.scalars(
            select(Evidence)
            .where(Evidence.contribution_id == contribution_id)
            .order_by(Evidence.created_at, Evidence.id)
        )
    )


async def witnesses_of(session: AsyncSession, evidence_id: uuid.UUID) -> list[Witness]:
    return list(
        await session.scalars(
            select(Witness)
            .where(Witness.evidence_id == evidence_id)
            .order_by(Witness.created_at, Witness.id)
        )
    )
