"""The codes an evidence mutation refuses with (SPEC 3's among them)."""

from __future__ import annotations

from gotong_gql.errors import ErrorCode


class EvidenceErrorCode(ErrorCode):
    INVALID_TIMESTAMP = (
        "INVALID_TIMESTAMP",
        "`timestamp` has no offset, is in the future or is over 30 days old.",
    )
    INVALID_COORDINATES = (
        "INVALID_COORDINATES",
        "A latitude outside -90..90 or a longitude outside -180..180.",
    )
    INVALID_MEDIA_HASH = (
        "INVALID_MEDIA_HASH",
        "`mediaHash` is not hexadecimal of at least 32 characters.",
    )
    INVALID_EVIDENCE_TYPE = (
        "INVALID_EVIDENCE_TYPE",
        "This mutation does not take this kind of evidence.",
    )
    MISSING_WITNESSES = "MISSING_WITNESSES", "A witness attestation names nobody."
    INVALID_PAYLOAD = (
        "INVALID_PAYLOAD",
        "A field breaks SPEC 3's rules (witnesses, sizes, ...); see `path`.",
    )
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN", "Only the contributor adds evidence to a contribution."
    INVALID_TRANSITION = "INVALID_TRANSITION", "The evidence is no longer PENDING_UPLOAD."
    NOT_UPLOADED = "NOT_UPLOADED", "No file has arrived at the upload URL yet."
