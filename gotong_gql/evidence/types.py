from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gotong_gql.evidence import codes, service
from gotong_gql.evidence.models import Evidence, Witness
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import CODE, ERRORS, UserError, error_code_enum

TIMESTAMP = "When the proof was taken: at most 5 minutes ahead, at most 30 days old."


@strawberry.enum(description="Where a piece of evidence is in its checks.")
class EvidenceStatus(Enum):
    PENDING_UPLOAD = strawberry.enum_value(
        "pending_upload", description="Waiting for the file and `evidenceUploadConfirm`."
    )
    PROCESSING = strawberry.enum_value(
        "processing", description="The file is being hashed and its EXIF read."
    )
    VERIFIED = strawberry.enum_value("verified", description="Its proof checked out.")
    REJECTED = strawberry.enum_value(
        "rejected", description="Its proof did not check out; see `rejectionReason`."
    )


@strawberry.enum(name="EvidenceType", description="The kinds of Proof of Reality (SPEC 3).")
class EvidenceKind(Enum):
    PHOTO_WITH_TIMESTAMP = strawberry.enum_value(
        "photo_with_timestamp", description="A photo (JPEG, PNG, HEIC), uploaded and hashed."
    )
    GPS_VERIFICATION = strawberry.enum_value(
        "gps_verification", description="A GPS fix, or an uploaded GPS log."
    )
    WITNESS_ATTESTATION = strawberry.enum_value(
        "witness_attestation", description="1 to 10 people who saw the work (no file)."
    )


@strawberry.enum(description="How a witness knows the work.")
class WitnessRelationship(Enum):
    SUPERVISOR = strawberry.enum_value("supervisor", description="Oversaw the work.")
    PEER = strawberry.enum_value("peer", description="Worked alongside.")
    BENEFICIARY = strawberry.enum_value("beneficiary", description="Benefited from it.")
    OTHER = strawberry.enum_value("other", description="Any other way.")


@strawberry.type(name="Witness", description="A person who attests to the work.")
class WitnessType:
    witness_name: str = strawberry.field(description="1 to 255 characters.")
    relationship: WitnessRelationship = strawberry.field(description="How they know the work.")
    statement: str | None = strawberry.field(description="What they say (at most 2,000).")
    contact: str | None = strawberry.field(description="How to reach them; null if not given.")

    @classmethod
    def from_row(cls, row: Witness) -> WitnessType:
        return cls(
            witness_name=row.witness_name,
            relationship=WitnessRelationship(row.relationship),
            statement=row.statement,
            contact=row.contact,
        )


@strawberry.enum(description="Doubts about evidence that do not reject it (SPEC 3).")
class EvidenceWarningCode(Enum):
    EXIF_TIME_MISMATCH = strawberry.enum_value(
        "EXIF_TIME_MISMATCH", description="The photo's EXIF time is over 60 s from `timestamp`."
    )
    POOR_GPS_ACCURACY = strawberry.enum_value(
        "POOR_GPS_ACCURACY", description="The GPS accuracy is worse than 100 m."
    )
    EVIDENCE_TIME_SPREAD = strawberry.enum_value(
        "EVIDENCE_TIME_SPREAD", description="The contribution's evidence spans over 7 days."
    )
    EVIDENCE_LOCATION_SPREAD = strawberry.enum_value(
        "EVIDENCE_LOCATION_SPREAD", description="The contribution's evidence is over 1 km apart."
    )


@strawberry.type(description="A doubt about a piece of evidence, kept with it.")
class EvidenceWarning:
    code: EvidenceWarningCode = strawberry.field(description="Which doubt.")
    message: str = strawberry.field(description="The doubt in words, with the numbers.")


@strawberry.type(
    name="Evidence",
    description="Proof of Reality. Visible to the contributor, the task's creator, verifiers "
    "and admins only.",
)
class EvidenceType(relay.Node):
    id: relay.NodeID[str]
    evidence_type: EvidenceKind = strawberry.field(description="The kind of proof.")
    status: EvidenceStatus = strawberry.field(description="Where its checks are.")
    media_hash: str | None = strawberry.field(description="SHA-256 (hex) of the file's bytes.")
    timestamp: datetime | None = strawberry.field(description="When the proof was taken.")
    latitude: float | None = strawberry.field(description="Decimal degrees; null without a fix.")
    longitude: float | None = strawberry.field(description="Decimal degrees; null without a fix.")
    accuracy_meters: float | None = strawberry.field(
        description="The fix's accuracy radius in metres; null if unknown."
    )
    content_type: str | None = strawberry.field(
        description="The file's media type, from its bytes; null without a file."
    )
    size_bytes: int | None = strawberry.field(description="The file's size; null without one.")
    exif: JSON | None = strawberry.field(
        description="Camera, capture time, GPS (decimal degrees) and altitude, from the file."
    )
    warnings: list[EvidenceWarning] = strawberry.field(description="Doubts that did not reject.")
    rejection_reason: str | None = strawberry.field(description="Why REJECTED; null otherwise.")
    created_at: datetime = strawberry.field(description="When it was submitted or requested.")
    processed_at: datetime | None = strawberry.field(
        description="When it was checked (at once without a file); null before."
    )
    row: strawberry.Private[Evidence]

    @classmethod
    def from_row(cls, row: Evidence) -> EvidenceType:
        return cls(
            id=str(row.id),
            evidence_type=EvidenceKind(row.evidence_type),
            status=EvidenceStatus(row.status),
            media_hash=row.media_hash,
            timestamp=row.timestamp,
            latitude=row.latitude,
            longitude=row.longitude,
            accuracy_meters=row.accuracy_m,
            content_type=row.content_type,
            size_bytes=row.size_bytes,
            exif=row.metadata_.get("exif"),
            warnings=[
                EvidenceWarning(
                    code=EvidenceWarningCode(warning["code"]), message=warning["message"]
                )
                for warning in row.warnings
            ],
            rejection_reason=row.rejection_reason,
            created_at=row.created_at,
            processed_at=row.processed_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return [await visible_evidence(info.context, node_id) for node_id in node_ids]

    @strawberry.field(description="At most 10, for a witness attestation.")
    async def witnesses(self, info: strawberry.Info[Context, None]) -> list[WitnessType]:
        async with info.context.db() as session:
            rows = await service.witnesses_of(session, self.row.id)
        return [WitnessType.from_row(row) for row in rows]

    @strawberry.field(description="A signed download URL valid for 5 minutes; null without a file.")
    async def file_url(self, info: strawberry.Info[Context, None]) -> str | None:
        if self.row.object_key is None or self.row.status == "pending_upload":
            return None
        return await info.context.services.storage.presign_get(self.row.object_key)


async def visible_evidence(context: Context, node_id: str) -> EvidenceType | None:
    """Evidence by id, or None when it does not exist or the viewer may not see it."""
    viewer = await context.require_viewer()
    try:
        evidence_id = uuid.UUID(node_id)
    except ValueError:
        return None
    async with context.db() as session:
        row = await session.get(Evidence, evidence_id)
        if row is None:
            return None
        visible = await service.visible_contribution(
            session, viewer.id, viewer.roles, row.contribution_id
        )
    return EvidenceType.from_row(row) if visible else None


@strawberry.type(description="One header of an HTTP request.")
class HttpHeader:
    name: str = strawberry.field(description="The header's name, e.g. `Content-Type`.")
    value: str = strawberry.field(description="Its value, to send exactly.")


@strawberry.type(
    name="PresignedUpload",
    description="Where and how to send a file: `method` to `url` with exactly these `headers`, "
    "before `expiresAt`.",
)
class PresignedUploadType:
    url: str = strawberry.field(description="Where to send the file's bytes.")
    method: str = strawberry.field(description="The HTTP method: `PUT`.")
    headers: list[HttpHeader] = strawberry.field(description="Headers to send, in this order.")
    expires_at: datetime = strawberry.field(description="The URL works until then (5 minutes).")


EvidenceErrorCode = error_code_enum(
    codes.EvidenceErrorCode, "Why an evidence mutation refused (SPEC 3's codes among them)."
)


@strawberry.type(description="Why an evidence mutation refused; nothing was written.")
class EvidenceError(UserError):
    code: EvidenceErrorCode = strawberry.field(description=CODE)


@strawberry.input(description="A point on Earth, as a GPS receiver reports it.")
class LocationInput:
    latitude: float = strawberry.field(description="Decimal degrees, -90 to 90.")
    longitude: float = strawberry.field(description="Decimal degrees, -180 to 180.")
    accuracy_meters: float | None = strawberry.field(
        default=None, description="The accuracy radius in metres, 0 or more; worse than 100 warns."
    )


@strawberry.input(description="A person who attests to the work.")
class WitnessInput:
    witness_name: str = strawberry.field(description="1 to 255 characters.")
    relationship: WitnessRelationship = strawberry.field(description="How they know the work.")
    statement: str | None = strawberry.field(default=None, description="At most 2,000.")
    contact: str | None = strawberry.field(
        default=None, description="How to reach them; seen only by who may see the evidence."
    )


@strawberry.input(description="A file to prove a contribution with.")
class EvidenceUploadRequestInput:
    contribution_id: strawberry.ID = strawberry.field(description="The viewer's contribution.")
    evidence_type: EvidenceKind = strawberry.field(
        description="PHOTO_WITH_TIMESTAMP, or GPS_VERIFICATION for a GPS log."
    )
    content_type: str = strawberry.field(description="image/jpeg, image/png, image/heic, ...")
    size_bytes: int = strawberry.field(
        description="The file's size in bytes: photos 50 KB to 10 MB, GPS logs up to 10 MB."
    )
    timestamp: datetime = strawberry.field(description=TIMESTAMP)
    media_hash: str | None = strawberry.field(
        default=None, description="The SHA-256 the client computed; a mismatch rejects."
    )
    location: LocationInput | None = strawberry.field(
        default=None, description="Where the proof was taken."
    )


@strawberry.type(description="The result of `evidenceUploadRequest`.")
class EvidenceUploadRequestPayload:
    evidence: EvidenceType | None = strawberry.field(
        description="The new evidence, PENDING_UPLOAD; null when refused."
    )
    upload: PresignedUploadType | None = strawberry.field(
        description="How to send the file; null when refused."
    )
    errors: list[EvidenceError] = strawberry.field(description=ERRORS)


@strawberry.input(description="The evidence whose file has been sent.")
class EvidenceUploadConfirmInput:
    evidence_id: strawberry.ID = strawberry.field(description="The evidence, PENDING_UPLOAD.")


@strawberry.type(description="The result of `evidenceUploadConfirm`.")
class EvidenceUploadConfirmPayload:
    evidence: EvidenceType | None = strawberry.field(
        description="The evidence, now PROCESSING; null when refused."
    )
    errors: list[EvidenceError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Evidence without a file: a GPS fix or witnesses.")
class EvidenceSubmitInput:
    contribution_id: strawberry.ID = strawberry.field(description="The viewer's contribution.")
    evidence_type: EvidenceKind = strawberry.field(
        description="GPS_VERIFICATION or WITNESS_ATTESTATION."
    )
    timestamp: datetime = strawberry.field(description=TIMESTAMP)
    location: LocationInput | None = strawberry.field(
        default=None, description="The fix; required for GPS_VERIFICATION."
    )
    media_hash: str | None = strawberry.field(
        default=None, description="A hash of related media: hexadecimal, 32 characters or more."
    )
    witnesses: list[WitnessInput] | None = strawberry.field(
        default=None, description="1 to 10; required for WITNESS_ATTESTATION."
    )


@strawberry.type(description="The result of `evidenceSubmit`.")
class EvidenceSubmitPayload:
    evidence: EvidenceType | None = strawberry.field(
        description="The new evidence; null when refused."
    )
    errors: list[EvidenceError] = strawberry.field(description=ERRORS)


@strawberry.type(description="A status change of one piece of evidence.")
class EvidenceEvent:
    evidence: EvidenceType = strawberry.field(description="The evidence as it is now.")
    status: EvidenceStatus = strawberry.field(description="The status it changed to.")
    at: datetime = strawberry.field(description="When it changed.")
