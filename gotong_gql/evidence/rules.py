"""The Proof of Reality rules of SPEC 3, as pure checks that raise DomainError with the SPEC's
codes (INVALID_TIMESTAMP, INVALID_COORDINATES, INVALID_MEDIA_HASH, INVALID_EVIDENCE_TYPE,
MISSING_WITNESSES, INVALID_PAYLOAD) and the offending field's path."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from gotong_gql import rfc3339
from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError
from gotong_gql.evidence.codes import EvidenceErrorCode
from gotong_gql.evidence.models import WITNESS_RELATIONSHIPS

CLOCK_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=30)
MAX_WITNESSES = 10
EXIF_TIME_TOLERANCE = timedelta(seconds=60)
POOR_GPS_ACCURACY_M = 100.0
SPREAD_DAYS = timedelta(days=7)
SPREAD_KM = 1.0
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def parse_timestamp(
    value: datetime | rfc3339.NotADateTime | str, field: str = "timestamp"
) -> datetime:
    """RFC 3339 with a time zone, not in the future (5 minutes of skew), at most 30 days old.

    `value` comes from the `DateTime` scalar, which hands over what it could not read as a
    `NotADateTime` so that it is refused here, with this code, in the payload."""
    moment = value if isinstance(value, datetime) else rfc3339.parse(value)
    if moment is None or moment.tzinfo is None:
        raise DomainError(
            EvidenceErrorCode.INVALID_TIMESTAMP,
            "must be RFC 3339 with a time zone, e.g. 2026-02-09T10:30:00Z",
            field,
        )
    now = utcnow()
    if moment > now + CLOCK_SKEW:
        raise DomainError(EvidenceErrorCode.INVALID_TIMESTAMP, "is in the future", field)
    if moment < now - MAX_AGE:
        raise DomainError(EvidenceErrorCode.INVALID_TIMESTAMP, "is more than 30 days old", field)
    return moment


def check_media_hash(value: str, field: str = "mediaHash") -> str:
    if len(value) < 32 or not _HEX.match(value):
        raise DomainError(
            EvidenceErrorCode.INVALID_MEDIA_HASH,
            "must be hexadecimal, at least 32 characters",
            field,
        )
    return value.lower()


def check_location(location: dict[str, Any], field: str = "location") -> tuple[float, float]:
    lat, lon = location.get("latitude"), location.get("longitude")
    if lat is None or not -90 <= lat <= 90:
        raise DomainError(
            EvidenceErrorCode.INVALID_COORDINATES,
            "latitude must be in [-90, 90]",
            f"{field}.latitude",
        )
    if lon is None or not -180 <= lon <= 180:
        raise DomainError(
            EvidenceErrorCode.INVALID_COORDINATES,
            "longitude must be in [-180, 180]",
            f"{field}.longitude",
        )
    accuracy = location.get("accuracy_meters")
    if accuracy is not None and accuracy < 0:
        raise DomainError(
            EvidenceErrorCode.INVALID_PAYLOAD,
            "accuracyMeters must not be negative",
            f"{field}.accuracyMeters",
        )
    return lat, lon


def check_witnesses(witnesses: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not witnesses:
        raise DomainError(
            EvidenceErrorCode.MISSING_WITNESSES,
            "a witness attestation needs 1 to 10 witnesses",
            "witnesses",
        )
    if len(witnesses) > MAX_WITNESSES:
        raise DomainError(
            EvidenceErrorCode.INVALID_PAYLOAD, f"at most {MAX_WITNESSES} witnesses", "witnesses"
        )
    for index, witness in enumerate(witnesses):
        path = f"witnesses.{index}"
        name = (witness.get("witness_name") or "").strip()
        if not name or len(name) > 255:
            raise DomainError(
                EvidenceErrorCode.INVALID_PAYLOAD,
                "witnessName must be 1 to 255 characters",
                f"{path}.witnessName",
            )
        if witness.get("relationship") not in WITNESS_RELATIONSHIPS:
            raise DomainError(
                EvidenceErrorCode.INVALID_PAYLOAD,
                f"relationship must be one of {', '.join(WITNESS_RELATIONSHIPS).upper()}",
                f"{path}.relationship",
            )
        if len(witness.get("statement") or "") > 2000:
            raise DomainError(
                EvidenceErrorCode.INVALID_PAYLOAD,
                "statement exceeds 2000 characters",
                f"{path}.statement",
            )
    return witnesses


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def warning(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def spread_warnings(
    moments: list[datetime], places: list[tuple[float, float]]
) -> list[dict[str, str]]:
    """Cross-evidence warnings of one contribution: spread over 7 days, more than 1 km apart."""
    warnings = []
    if moments and max(moments) - min(moments) > SPREAD_DAYS:
        warnings.append(
            warning("EVIDENCE_TIME_SPREAD", "the contribution's evidence spans more than 7 days")
        )
    if any(distance_km(a, b) > SPREAD_KM for i, a in enumerate(places) for b in places[i + 1 :]):
        warnings.append(
            warning(
                "EVIDENCE_LOCATION_SPREAD", "the contribution's evidence is more than 1 km apart"
            )
        )
    return warnings
