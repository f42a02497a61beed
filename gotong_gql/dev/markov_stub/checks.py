"""What the stub checks of a webhook request: both signature schemes, and the payload and
headers against SPEC 4 (one error, with its field path, per problem)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from gotong_gql.dev.markov_stub.state import Error, field_error

MARKOV_USER_PREFIX = "gotong_royong:"
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60
USER_AGENT_PREFIX = "GotongRoyong/"

EVENT_TYPES = frozenset({"contribution_created", "vouch_submitted", "por_evidence"})
CONTRIBUTION_TYPES = frozenset(
    {
        "task_completion",
        "code_review",
        "documentation",
        "mentoring",
        "event_organization",
        "community_service",
        "custom",
    }
)
WEIGHT_HINTS = frozenset({"strong", "moderate", "light"})
EVIDENCE_TYPES = frozenset({"photo_with_timestamp", "gps_verification", "witness_attestation"})
RELATIONSHIPS = frozenset({"supervisor", "peer", "beneficiary", "other"})
ENVELOPE_FIELDS = frozenset(
    {"event_id", "event_type", "schema_version", "request_id", "timestamp", "actor", "subject"}
)

_EVENT_ID = re.compile(r"evt_[0-9a-f]{16}")
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.[0-9]+)?(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_MEDIA_HASH = re.compile(r"[0-9a-fA-F]{32,}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def any_match(expected: Iterable[bytes], given: list[bytes]) -> bool:
    """True when any expected value equals any given one; each pair compared in constant time."""
    matched = False
    for want in expected:
        for got in given:
            matched |= hmac.compare_digest(want, got)
    return matched


def _gr_signature_errors(secrets: tuple[bytes, ...], given: str, body: bytes) -> list[Error]:
    expected = (
        b"sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
        for secret in secrets
    )
    if given and any_match(expected, [given.encode("latin-1")]):
        return []
    return [field_error("headers.x-gr-signature", "missing, or not sha256=<HMAC of the body>")]


def _standard_webhook_errors(
    secrets: tuple[bytes, ...], headers: Mapping[str, str], body: bytes, now: float
) -> list[Error]:
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not webhook_id:
        return [field_error("headers.webhook-id", "is required")]
    if not _UNIX_SECONDS.fullmatch(timestamp):
        return [field_error("headers.webhook-timestamp", "must be unix seconds")]
    if abs(now - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        return [field_error("headers.webhook-timestamp", "is more than 5 minutes from now")]
    signed = f"{webhook_id}.{timestamp}.".encode("latin-1") + body
    expected = (
        base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()) for secret in secrets
    )
    given = [
        entry.removeprefix("v1,").encode("latin-1")
        for entry in headers.get("webhook-signature", "").split()
        if entry.startswith("v1,")
    ]
    if given and any_match(expected, given):
        return []
    return [field_error("headers.webhook-signature", "missing, or no v1 signature matches")]


def signature_errors(
    secrets: tuple[bytes, ...], headers: Mapping[str, str], body: bytes
) -> list[Error]:
    """Both schemes are required; each is reported on its own."""
    gr_errors = _gr_signature_errors(secrets, headers.get("x-gr-signature", ""), body)
    return gr_errors + _standard_webhook_errors(secrets, headers, body, time.time())


_KINDS: dict[str, Callable[[Any], bool]] = {
    "a string": lambda value: isinstance(value, str),
    "an object": lambda value: isinstance(value, dict),
    "an array": lambda value: isinstance(value, list),
    "an integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "a number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
}


class Checker:
    """Reads a JSON document, collecting one error (field path and reason) per problem.

    Each method takes the object holding the field and the field's full path (its last part is the
    key); it returns the value when present and of the right type, else None.
    """

    def __init__(self) -> None:
        self.errors: list[Error] = []

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(field_error(path, reason))

    def value(self, obj: dict[str, Any], path: str, kind: str, *, optional: bool = False) -> Any:
        key = path.rpartition(".")[2]
        value = obj.get(key)
        if value is None:
            if not optional:
                self.fail(path, "is required" if key not in obj else "must not be null")
            return None
        if not _KINDS[kind](value):
            self.fail(path, f"must be {kind}")
            return None
        return value

    def text(
        self,
        obj: dict[str, Any],
        path: str,
        *,
        min_len: int = 0,
        max_len: int | None = None,
        choices: frozenset[str] | None = None,
        optional: bool = False,
    ) -> str | None:
        value = self.value(obj, path, "a string", optional=optional)
        if value is None:
            return None
        if choices is not None and value not in choices:
            self.fail(path, "must be one of " + ", ".join(sorted(choices)))
        elif len(value) < min_len:
            self.fail(path, f"must have at least {min_len} character(s)")
        elif max_len is not None and len(value) > max_len:
            self.fail(path, f"must have at most {max_len} characters")
        return value

    def number(
        self,
        obj: dict[str, Any],
        path: str,
        low: float,
        high: float | None = None,
        *,
        kind: str = "a number",
        optional: bool = False,
    ) -> Any:
        value = self.value(obj, path, kind, optional=optional)
        if value is None:
            return None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.fail(path, f"must be {bounds}")
            return None
        return value

    def sized(
        self, obj: dict[str, Any], path: str, kind: str, most: int, *, optional: bool = False
    ) -> Any:
        value = self.value(obj, path, kind, optional=optional)
        if value is not None and len(value) > most:
            unit = "items" if kind == "an array" else "keys"
            self.fail(path, f"must have at most {most} {unit}, not {len(value)}")
        return value

    def timestamp(self, obj: dict[str, Any], path: str) -> None:
        value = self.text(obj, path)
        if value is not None and not _is_rfc3339(value):
            self.fail(path, "must be an RFC 3339 timestamp with a time zone")

    def user_id(self, obj: dict[str, Any], path: str) -> None:
        value = self.text(obj, path, min_len=1)
        if value and not is_canonical_uuid(value):
            self.fail(path, "must be the user's id in this system (a UUID), not a markov_user_id")

    def strings(self, items: list[Any], path: str) -> None:
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item:
                self.fail(f"{path}[{index}]", "must be a non-empty string")


def _is_rfc3339(value: str) -> bool:
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    zone = "+00:00" if match["zone"].upper() == "Z" else match["zone"]
    try:
        datetime.fromisoformat(f"{match['date']}T{match['time']}{zone}")
    except ValueError:
        return False
    return True


def is_canonical_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _check_headers(check: Checker, headers: Mapping[str, str]) -> None:
    if not headers.get("user-agent", "").startswith(USER_AGENT_PREFIX):
        check.fail("headers.user-agent", f"must start with {USER_AGENT_PREFIX}")
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        check.fail("headers.content-type", "must be application/json")


def _check_envelope(check: Checker, payload: dict[str, Any], headers: Mapping[str, str]) -> None:
    event_id = check.text(payload, "event_id")
    if event_id is not None and not _EVENT_ID.fullmatch(event_id):
        check.fail("event_id", "must be evt_ followed by 16 lowercase hex digits")
    if check.text(payload, "schema_version") not in (None, "1"):
        check.fail("schema_version", 'must be "1"')
    request_id = check.text(payload, "request_id", min_len=1)
    if request_id and request_id != headers.get("x-request-id"):
        check.fail("request_id", "must equal the X-Request-ID header")
    check.timestamp(payload, "timestamp")
    actor = check.value(payload, "actor", "an object")
    if actor is not None:
        check.user_id(actor, "actor.user_id")
        check.text(actor, "actor.username", min_len=1)


def _check_contribution_created(check: Checker, payload: dict[str, Any]) -> None:
    subject = check.value(payload, "subject", "an object")
    if subject is None:
        return
    check.text(subject, "subject.contribution_type", choices=CONTRIBUTION_TYPES)
    check.text(subject, "subject.title", min_len=1, max_len=200)
    check.text(subject, "subject.description", max_len=2000)
    check.text(subject, "subject.evidence_url", optional=True)
    skill_ids = check.sized(subject, "subject.skill_ids", "an array", 10)
    check.strings(skill_ids or [], "subject.skill_ids")
    check.sized(subject, "subject.metadata", "an object", 50)


def _check_vouch_submitted(check: Checker, payload: dict[str, Any]) -> None:
    subject = check.value(payload, "subject", "an object")
    if subject is None:
        return
    check.user_id(subject, "subject.vouchee_id")
    check.text(subject, "subject.skill_id", min_len=1, optional=True)
    check.text(subject, "subject.weight_hint", choices=WEIGHT_HINTS, optional=True)
    check.text(subject, "subject.message", max_len=500)


def _check_por_evidence(check: Checker, payload: dict[str, Any]) -> None:
    subject = check.value(payload, "subject", "an object")
    if subject is not None:
        check.text(subject, "subject.contribution_id", min_len=1)
        check.text(subject, "subject.evidence_type", choices=EVIDENCE_TYPES)
        check.value(subject, "subject.evidence_data", "an object")
    proof = check.value(payload, "proof", "an object")
    if proof is not None:
        _check_proof(check, proof)


def _check_proof(check: Checker, proof: dict[str, Any]) -> None:
    check.timestamp(proof, "proof.timestamp")
    location = check.value(proof, "proof.location", "an object", optional=True)
    if location is not None:
        check.number(location, "proof.location.lat", -90, 90)
        check.number(location, "proof.location.lon", -180, 180)
    media_hash = check.text(proof, "proof.media_hash", optional=True)
    if media_hash is not None and not _MEDIA_HASH.fullmatch(media_hash):
        check.fail("proof.media_hash", "must be hexadecimal, at least 32 characters")
    witnesses = check.sized(proof, "proof.witnesses", "an array", 10, optional=True)
    for index, witness in enumerate(witnesses or []):
        _check_witness(check, witness, f"proof.witnesses[{index}]")


def _check_witness(check: Checker, witness: Any, path: str) -> None:
    if not isinstance(witness, dict):
        check.fail(path, "must be an object")
        return
    check.text(witness, f"{path}.witness_name", min_len=1, max_len=255)
    check.text(witness, f"{path}.relationship", choices=RELATIONSHIPS, optional=True)
    check.text(witness, f"{path}.statement", max_len=2000, optional=True)


_SUBJECT_CHECKS: dict[str, Callable[[Checker, dict[str, Any]], None]] = {
    "contribution_created": _check_contribution_created,
    "vouch_submitted": _check_vouch_submitted,
    "por_evidence": _check_por_evidence,
}


def payload_errors(payload: Any, headers: Mapping[str, str]) -> list[Error]:
    """Every way the headers and the decoded body break SPEC 4; empty when they are valid."""
    check = Checker()
    _check_headers(check, headers)
    if not isinstance(payload, dict):
        check.fail("body", "must be a JSON object")
        return check.errors
    event_type = check.text(payload, "event_type", choices=EVENT_TYPES)
    allowed = (
        ENVELOPE_FIELDS | {"proof"} if event_type in (None, "por_evidence") else ENVELOPE_FIELDS
    )
    for key in sorted(payload.keys() - allowed):
        check.fail(key, "is not a field of this event")
    _check_envelope(check, payload, headers)
    if event_type in _SUBJECT_CHECKS:
        _SUBJECT_CHECKS[event_type](check, payload)
    return check.errors


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_json(body: bytes) -> Any:
    """The JSON document in body, or ValueError: strict UTF-8 JSON, without NaN or Infinity."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
