from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from gotong_gql.models_base import (
    Field,
    SQLModel,
    check,
    created_at_field,
    fk_field,
    id_field,
    in_list,
    json_field,
    timestamp_field,
)

EVIDENCE_TYPES = ("photo_with_timestamp", "gps_verification", "witness_attestation")
EVIDENCE_STATUSES = ("pending_upload", "processing", "verified", "rejected")
WITNESS_RELATIONSHIPS = ("supervisor", "peer", "beneficiary", "other")


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"
    __table_args__ = (
        check(in_list("evidence_type", EVIDENCE_TYPES), "evidence_type"),
        check(in_list("status", EVIDENCE_STATUSES), "status"),
        check("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", "latitude_range"),
        check("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", "longitude_range"),
        check("size_bytes IS NULL OR size_bytes >= 0", "size_nonnegative"),
    )

    id: uuid.UUID = id_field()
    contribution_id: uuid.UUID = fk_field("contributions.id", ondelete="CASCADE")
    uploader_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE")
    evidence_type: str = Field(max_length=40)
    status: str = Field(default="pending_upload", max_length=20, index=True)
    object_key: str | None = Field(default=None, max_length=512, unique=True)
    file_url: str | None = Field(default=None, max_length=2048)
    content_type: str | None = Field(default=None, max_length=100)
    size_bytes: int | None = None
    media_hash: str | None = Field(default=None, max_length=128)
    claimed_media_hash: str | None = Field(default=None, max_length=128)
    timestamp: datetime | None = timestamp_field()
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    metadata_: dict[str, Any] = json_field(name="metadata")
    warnings: list[dict[str, Any]] = json_field(default_factory=list)
    rejection_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    processed_at: datetime | None = timestamp_field()


class Witness(SQLModel, table=True):
    __tablename__ = "witnesses"
    __table_args__ = (
        check("length(witness_name) BETWEEN 1 AND 255", "witness_name_length"),
        check(in_list("relationship", WITNESS_RELATIONSHIPS), "relationship"),
        check("statement IS NULL OR length(statement) <= 2000", "statement_length"),
    )

    id: uuid.UUID = id_field()
    evidence_id: uuid.UUID = fk_field("evidence.id", ondelete="CASCADE")
    witness_id: uuid.UUID | None = fk_field("users.id", ondelete="SET NULL", nullable=True)
    witness_name: str = Field(max_length=255)
    relationship: str = Field(max_length=20)
    statement: str | None = Field(default=None, max_length=2000)
    contact: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_at_field()
