from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gotong_gql.evidence import service
from gotong_gql.evidence.models import Evidence, Witness
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import UserError


@strawberry.enum
class EvidenceStatus(Enum):
    PENDING_UPLOAD = "pending_upload"
    PROCESSING = "processing"
    VERIFIED = "verified"
    REJECTED = "rejected"


@strawberry.enum(name="EvidenceType")
class EvidenceKind(Enum):
    PHOTO_WITH_TIMESTAMP = "photo_with_timestamp"
    GPS_VERIFICATION = "gps_verification"
    WITNESS_ATTESTATION = "witness_attestation"


@strawberry.enum
class WitnessRelationship(Enum):
    SUPERVISOR = "supervisor"
    PEER = "peer"
    BENEFICIARY = "beneficiary"
    OTHER = "other"


@strawberry.type(name="Witness")
class WitnessType:
    witness_name: str
    relationship: WitnessRelationship
    statement: str | None
    contact: str | None

    @classmethod
    def from_row(cls, row: Witness) -> WitnessType:
        return cls(
            witness_name=row.witness_name,
            relationship=WitnessRelationship(row.relationship),
            statement=row.statement,
            contact=row.contact,
        )


@strawberry.enum
class EvidenceWarningCode(Enum):
    EXIF_TIME_MISMATCH = "EXIF_TIME_MISMATCH"
    POOR_GPS_ACCURACY = "POOR_GPS_ACCURACY"
    EVIDENCE_TIME_SPREAD = "EVIDENCE_TIME_SPREAD"
    EVIDENCE_LOCATION_SPREAD = "EVIDENCE_LOCATION_SPREAD"


@strawberry.type
class EvidenceWarning:
    code: EvidenceWarningCode
    message: str


@strawberry.type(
    name="Evidence",
    description="Proof of Reality. Visible to the contributor, the task's creator, verifiers "
    "and admins only.",
)
class EvidenceType(relay.Node):
    id: relay.NodeID[str]
    evidence_type: EvidenceKind
    status: EvidenceStatus
    media_hash: str | None = strawberry.field(description="SHA-256 (hex) of the file's bytes.")
    timestamp: datetime | None
    latitude: float | None
    longitude: float | None
    accuracy_meters: float | None
    content_type: str | None
    size_bytes: int | None
    exif: JSON | None = strawberry.field(
        description="Camera, capture time, GPS (decimal degrees) and altitude, from the file."
    )
    warnings: list[EvidenceWarning]
    rejection_reason: str | None
    created_at: datetime
    processed_at: datetime | None
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
    name: str
    value: str


@strawberry.type(
    name="PresignedUpload",
    description="Where and how to send a file: `method` to `url` with exactly these `headers`, "
    "before `expiresAt`.",
)
class PresignedUploadType:
    url: str
    method: str
    headers: list[HttpHeader]
    expires_at: datetime


@strawberry.enum
class EvidenceErrorCode(Enum):
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
    INVALID_COORDINATES = "INVALID_COORDINATES"
    INVALID_MEDIA_HASH = "INVALID_MEDIA_HASH"
    INVALID_EVIDENCE_TYPE = "INVALID_EVIDENCE_TYPE"
    MISSING_WITNESSES = "MISSING_WITNESSES"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    NOT_UPLOADED = "NOT_UPLOADED"


@strawberry.type
class EvidenceError(UserError):
    code: EvidenceErrorCode


@strawberry.input
class LocationInput:
    latitude: float = strawberry.field(description="Decimal degrees, -90 to 90.")
    longitude: float = strawberry.field(description="Decimal degrees, -180 to 180.")
    accuracy_meters: float | None = None


@strawberry.input
class WitnessInput:
    witness_name: str
    relationship: WitnessRelationship
    statement: str | None = None
    contact: str | None = None


@strawberry.input
class EvidenceUploadRequestInput:
    contribution_id: strawberry.ID
    evidence_type: EvidenceKind
    content_type: str = strawberry.field(description="image/jpeg, image/png, image/heic, ...")
    size_bytes: int
    timestamp: datetime = strawberry.field(
        description="When the proof was taken: at most 5 minutes ahead, at most 30 days old."
    )
    media_hash: str | None = strawberry.field(
        default=None, description="The SHA-256 the client computed; a mismatch rejects."
    )
    location: LocationInput | None = None


@strawberry.type
class EvidenceUploadRequestPayload:
    evidence: EvidenceType | None
    upload: PresignedUploadType | None
    errors: list[EvidenceError]


@strawberry.input
class EvidenceUploadConfirmInput:
    evidence_id: strawberry.ID


@strawberry.type
class EvidenceUploadConfirmPayload:
    evidence: EvidenceType | None
    errors: list[EvidenceError]


@strawberry.input
class EvidenceSubmitInput:
    contribution_id: strawberry.ID
    evidence_type: EvidenceKind
    timestamp: datetime = strawberry.field(
        description="When the proof was taken: at most 5 minutes ahead, at most 30 days old."
    )
    location: LocationInput | None = None
    media_hash: str | None = None
    witnesses: list[WitnessInput] | None = None


@strawberry.type
class EvidenceSubmitPayload:
    evidence: EvidenceType | None
    errors: list[EvidenceError]


@strawberry.type
class EvidenceEvent:
    evidence: EvidenceType
    status: EvidenceStatus
    at: datetime
