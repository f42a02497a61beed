"""A stand-in for the Markov Engine, for development and tests (`gotong-gql markov-stub`).

It receives webhooks the way SPEC section 4 says the Markov Engine does, and answers reputation
reads (SPEC section 5) computed from the events it accepted. Everything lives in memory, in one
`StubState` on `app.state.stub`; nothing survives a restart. Every error answer has the shape
`{"error": <summary>, "errors": [{"field": <path>, "reason": <why>}, ...]}`.

Endpoints:

- `POST /api/v1/platforms/gotong_royong/webhook`: in this order, an injected fault (see below);
  413 for a body over 1 MiB; 401 unless both `X-GR-Signature` and the Standard Webhooks headers
  (`webhook-id`, `webhook-timestamp` within 5 minutes, `webhook-signature`) match the secret or the
  previous secret; 422 for a payload or header that breaks SPEC 4 (User-Agent `GotongRoyong/...`,
  Content-Type JSON, `X-Request-ID` equal to `request_id`); else 200
  `{"status": "accepted", "event_id": ...}` the first time an event_id is seen and
  `{"status": "duplicate", "event_id": ...}` after that. Every request is logged in memory.
- `GET /api/v1/users/{markov_user_id}/reputation`: the SPEC 5 fields computed from the accepted
  events of `gotong_royong:<user uuid>` (404 for another form of id); needs
  `Authorization: Bearer <api_token>` when the stub has an api_token (401 otherwise).
- `GET /healthz`: 200 `{"status": "ok"}` once the server is up.
- `POST /_stub/faults`: `{"status": 503, "times": 3, "retry_after": 2, "delay": 0.5}` makes the
  next `times` webhook requests (-1: all of them; default 1) sleep `delay` seconds, then answer
  `status` (with `Retry-After` when `retry_after` is given) without any check; with no `status`
  they are processed normally after the delay. The same keys prefixed `reputation_` do the same
  to the reputation endpoint. Answers the faults now in force. `DELETE /_stub/faults` clears them.
- `GET /_stub/events`: `{"events": [...]}`, every webhook request in arrival order: received_at,
  headers (lower-case names), body_b64 (the raw bytes), status, event_id, duplicate, payload (when
  accepted or duplicate) and errors.
- `GET /_stub/stats`: counters `webhook_requests`, `accepted`, `duplicates`, `rejected` (answered
  401, 413 or 422; injected faults are counted in `webhook_requests` only) and
  `reputation_requests` (every request, faulted and unauthorised ones included).
- `POST /_stub/reset`: forgets the log, the accepted events, the faults and the counters.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/v1/platforms/gotong_royong/webhook"
REPUTATION_PATH = "/api/v1/users/{markov_user_id}/reputation"
MARKOV_USER_PREFIX = "gotong_royong:"
MAX_BODY_BYTES = 1024 * 1024
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
COUNTERS = ("webhook_requests", "accepted", "duplicates", "rejected", "reputation_requests")
FAULT_FIELDS = ("status", "times", "retry_after", "delay")
# Fault targets and the prefix of their keys in `POST /_stub/faults`.
FAULT_TARGETS = {"webhook": "", "reputation": "reputation_"}
TIERS = ((0.8, "steward"), (0.5, "trusted"), (0.2, "contributor"), (0.0, "newcomer"))

_EVENT_ID = re.compile(r"evt_[0-9a-f]{16}")
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.[0-9]+)?(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_MEDIA_HASH = re.compile(r"[0-9a-fA-F]{32,}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")

Error = dict[str, str]


def _error(field: str, reason: str) -> Error:
    return {"field": field, "reason": reason}


def _error_response(
    status: int, summary: str, errors: list[Error], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": summary, "errors": errors}, status_code=status, headers=headers)


# State ------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """What the next `times` requests get (-1: every request): a `delay`, then maybe `status`."""

    status: int | None = None
    times: int = 0
    retry_after: int | None = None
    delay: float = 0.0

    def take(self) -> Fault | None:
        """Uses up one injection: this fault, or None once it is spent."""
        if self.times == 0:
            return None
        if self.times > 0:
            self.times -= 1
        return self


@dataclass
class Delivery:
    """One request to the webhook endpoint, as received and as answered."""

    received_at: float
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    event_id: str | None = None
    duplicate: bool = False
    payload: dict[str, Any] | None = None
    errors: list[Error] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at,
            "headers": self.headers,
            "body_b64": base64.b64encode(self.body).decode("ascii"),
            "status": self.status,
            "event_id": self.event_id,
            "duplicate": self.duplicate,
            "payload": self.payload,
            "errors": self.errors,
        }


@dataclass
class StubState:
    """Everything the stub knows: its keys, the delivery log, accepted events, faults, counters."""

    secrets: tuple[bytes, ...]
    api_token: str | None
    deliveries: list[Delivery] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    def reset(self) -> None:
        self.deliveries.clear()
        self.accepted.clear()
        self.faults.clear()
        self.counters = dict.fromkeys(COUNTERS, 0)

    def take_fault(self, target: str) -> Fault | None:
        fault = self.faults.get(target)
        return fault.take() if fault is not None else None


def _stub(request: Request) -> StubState:
    return request.app.state.stub


# Signatures -------------------------------------------------------------------------------------


def _any_match(expected: Iterable[bytes], given: list[bytes]) -> bool:
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
    if given and _any_match(expected, [given.encode("latin-1")]):
        return []
    return [_error("headers.x-gr-signature", "missing, or not sha256=<HMAC of the body>")]


def _standard_webhook_errors(
    secrets: tuple[bytes, ...], headers: Mapping[str, str], body: bytes, now: float
) -> list[Error]:
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not webhook_id:
        return [_error("headers.webhook-id", "is required")]
    if not _UNIX_SECONDS.fullmatch(timestamp):
        return [_error("headers.webhook-timestamp", "must be unix seconds")]
    if abs(now - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        return [_error("headers.webhook-timestamp", "is more than 5 minutes from now")]
    signed = f"{webhook_id}.{timestamp}.".encode("latin-1") + body
    expected = (
        base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()) for secret in secrets
    )
    given = [
        entry.removeprefix("v1,").encode("latin-1")
        for entry in headers.get("webhook-signature", "").split()
        if entry.startswith("v1,")
    ]
    if given and _any_match(expected, given):
        return []
    return [_error("headers.webhook-signature", "missing, or no v1 signature matches")]


def _signature_errors(
    secrets: tuple[bytes, ...], headers: Mapping[str, str], body: bytes
) -> list[Error]:
    """Both schemes are required; each is reported on its own."""
    gr_errors = _gr_signature_errors(secrets, headers.get("x-gr-signature", ""), body)
    return gr_errors + _standard_webhook_errors(secrets, headers, body, time.time())


# Payload validation (SPEC 4) --------------------------------------------------------------------

_KINDS: dict[str, Callable[[Any], bool]] = {
    "a string": lambda value: isinstance(value, str),
    "an object": lambda value: isinstance(value, dict),
    "an array": lambda value: isinstance(value, list),
    "an integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "a number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
}


class _Checker:
    """Reads a JSON document, collecting one error (field path and reason) per problem.

    Each method takes the object holding the field and the field's full path (its last part is the
    key); it returns the value when present and of the right type, else None.
    """

    def __init__(self) -> None:
        self.errors: list[Error] = []

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(_error(path, reason))

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
        if value and not _is_canonical_uuid(value):
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


def _is_canonical_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _check_headers(check: _Checker, headers: Mapping[str, str]) -> None:
    if not headers.get("user-agent", "").startswith(USER_AGENT_PREFIX):
        check.fail("headers.user-agent", f"must start with {USER_AGENT_PREFIX}")
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        check.fail("headers.content-type", "must be application/json")


def _check_envelope(check: _Checker, payload: dict[str, Any], headers: Mapping[str, str]) -> None:
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


def _check_contribution_created(check: _Checker, payload: dict[str, Any]) -> None:
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


def _check_vouch_submitted(check: _Checker, payload: dict[str, Any]) -> None:
    subject = check.value(payload, "subject", "an object")
    if subject is None:
        return
    check.user_id(subject, "subject.vouchee_id")
    check.text(subject, "subject.skill_id", min_len=1, optional=True)
    check.text(subject, "subject.weight_hint", choices=WEIGHT_HINTS, optional=True)
    check.text(subject, "subject.message", max_len=500)


def _check_por_evidence(check: _Checker, payload: dict[str, Any]) -> None:
    subject = check.value(payload, "subject", "an object")
    if subject is not None:
        check.text(subject, "subject.contribution_id", min_len=1)
        check.text(subject, "subject.evidence_type", choices=EVIDENCE_TYPES)
        check.value(subject, "subject.evidence_data", "an object")
    proof = check.value(payload, "proof", "an object")
    if proof is not None:
        _check_proof(check, proof)


def _check_proof(check: _Checker, proof: dict[str, Any]) -> None:
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


def _check_witness(check: _Checker, witness: Any, path: str) -> None:
    if not isinstance(witness, dict):
        check.fail(path, "must be an object")
        return
    check.text(witness, f"{path}.witness_name", min_len=1, max_len=255)
    check.text(witness, f"{path}.relationship", choices=RELATIONSHIPS, optional=True)
    check.text(witness, f"{path}.statement", max_len=2000, optional=True)


_SUBJECT_CHECKS: dict[str, Callable[[_Checker, dict[str, Any]], None]] = {
    "contribution_created": _check_contribution_created,
    "vouch_submitted": _check_vouch_submitted,
    "por_evidence": _check_por_evidence,
}


def _payload_errors(payload: Any, headers: Mapping[str, str]) -> list[Error]:
    """Every way the headers and the decoded body break SPEC 4; empty when they are valid."""
    check = _Checker()
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


def _decode(body: bytes) -> Any:
    """The JSON document in body, or ValueError: strict UTF-8 JSON, without NaN or Infinity."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


# Webhook endpoint -------------------------------------------------------------------------------


async def _inject_fault(stub: StubState, target: str) -> JSONResponse | None:
    """Applies the target's fault, if any: sleeps its delay; its answer when it has a status."""
    fault = stub.take_fault(target)
    if fault is None:
        return None
    await asyncio.sleep(fault.delay)
    if fault.status is None:
        return None
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    return _error_response(fault.status, "injected fault", [], headers)


def _reject(
    stub: StubState, delivery: Delivery, status: int, summary: str, errors: list[Error]
) -> JSONResponse:
    stub.counters["rejected"] += 1
    delivery.errors = errors
    return _error_response(status, summary, errors)


def _accept(stub: StubState, delivery: Delivery, payload: dict[str, Any]) -> JSONResponse:
    event_id = payload["event_id"]
    delivery.payload = payload
    if event_id in stub.accepted:
        delivery.duplicate = True
        stub.counters["duplicates"] += 1
        return JSONResponse({"status": "duplicate", "event_id": event_id})
    stub.accepted[event_id] = payload
    stub.counters["accepted"] += 1
    log.info("accepted event %s (%s)", event_id, payload["event_type"])
    return JSONResponse({"status": "accepted", "event_id": event_id})


async def _answer_webhook(stub: StubState, delivery: Delivery, request: Request) -> JSONResponse:
    injected = await _inject_fault(stub, "webhook")
    if injected is not None:
        return injected
    if len(delivery.body) > MAX_BODY_BYTES:
        reason = f"must be at most {MAX_BODY_BYTES} bytes, not {len(delivery.body)}"
        return _reject(stub, delivery, 413, "payload too large", [_error("body", reason)])
    errors = _signature_errors(stub.secrets, request.headers, delivery.body)
    if errors:
        return _reject(stub, delivery, 401, "invalid signature", errors)
    try:
        payload = _decode(delivery.body)
    except ValueError as exc:
        return _reject(stub, delivery, 422, "invalid payload", [_error("body", f"not JSON: {exc}")])
    if isinstance(payload, dict) and isinstance(payload.get("event_id"), str):
        delivery.event_id = payload["event_id"]
    errors = _payload_errors(payload, request.headers)
    if errors:
        return _reject(stub, delivery, 422, "invalid payload", errors)
    return _accept(stub, delivery, payload)


async def webhook(request: Request) -> JSONResponse:
    stub = _stub(request)
    stub.counters["webhook_requests"] += 1
    delivery = Delivery(
        received_at=time.time(), headers=dict(request.headers), body=await request.body()
    )
    stub.deliveries.append(delivery)
    response = await _answer_webhook(stub, delivery, request)
    delivery.status = response.status_code
    return response


# Reputation endpoint (SPEC 5) -------------------------------------------------------------------


def _tier(score: float) -> str:
    return next(name for floor, name in TIERS if score >= floor)


def _reputation(markov_user_id: str, events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The SPEC 5 answer for one user, computed from accepted events."""
    user_id = markov_user_id.removeprefix(MARKOV_USER_PREFIX)
    counts: Counter[str] = Counter()
    skills: Counter[str] = Counter()
    for event in events:
        event_type, subject = event["event_type"], event["subject"]
        if event_type == "vouch_submitted":
            if subject["vouchee_id"] == user_id:
                counts[event_type] += 1
                skills.update([subject["skill_id"]] if subject.get("skill_id") else [])
        elif event["actor"]["user_id"] == user_id:
            counts[event_type] += 1
            if event_type == "contribution_created":
                skills.update(set(subject["skill_ids"]))
    score = 0.1 * counts["contribution_created"] + 0.05 * counts["vouch_submitted"]
    score = round(min(1.0, score + 0.02 * counts["por_evidence"]), 4)
    return {
        "user_id": markov_user_id,
        "reputation_score": score,
        "tier": _tier(score),
        "contributions_count": counts["contribution_created"],
        "vouches_received": counts["vouch_submitted"],
        "skills": [
            {"skill_id": skill_id, "competence": round(min(1.0, 0.2 * count), 4)}
            for skill_id, count in sorted(skills.items())
        ],
    }


def _authorised(stub: StubState, authorization: str) -> bool:
    if stub.api_token is None:
        return True
    expected = f"Bearer {stub.api_token}".encode()
    return _any_match([expected], [authorization.encode("latin-1")])


async def reputation(request: Request) -> JSONResponse:
    stub = _stub(request)
    stub.counters["reputation_requests"] += 1
    injected = await _inject_fault(stub, "reputation")
    if injected is not None:
        return injected
    if not _authorised(stub, request.headers.get("authorization", "")):
        reason = "must be Bearer <platform service token>"
        return _error_response(401, "unauthorised", [_error("headers.authorization", reason)])
    markov_user_id = request.path_params["markov_user_id"]
    user_id = markov_user_id.removeprefix(MARKOV_USER_PREFIX)
    if user_id == markov_user_id or not _is_canonical_uuid(user_id):
        reason = f"must be {MARKOV_USER_PREFIX}<user uuid>"
        return _error_response(404, "unknown user", [_error("markov_user_id", reason)])
    return JSONResponse(_reputation(markov_user_id, stub.accepted.values()))


# Control endpoints ------------------------------------------------------------------------------


def _read_fault(check: _Checker, body: dict[str, Any], prefix: str) -> Fault | None:
    """The fault that body sets with keys starting with prefix; None when it names none."""
    if not any(prefix + name in body for name in FAULT_FIELDS):
        return None
    status = check.number(body, prefix + "status", 200, 599, kind="an integer", optional=True)
    times = check.number(body, prefix + "times", -1, kind="an integer", optional=True)
    retry_after = check.number(body, prefix + "retry_after", 0, kind="an integer", optional=True)
    delay = check.number(body, prefix + "delay", 0, optional=True)
    if status is None and not delay:
        check.fail(prefix + "status", "a fault needs a status, a delay, or both")
    return Fault(status, 1 if times is None else times, retry_after, float(delay or 0))


def _faults_json(stub: StubState) -> dict[str, Any]:
    return {target: asdict(stub.faults.get(target, Fault())) for target in FAULT_TARGETS}


async def set_faults(request: Request) -> JSONResponse:
    stub = _stub(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _error_response(422, "invalid faults", [_error("body", "must be a JSON object")])
    check = _Checker()
    known = {prefix + name for prefix in FAULT_TARGETS.values() for name in FAULT_FIELDS}
    for key in sorted(body.keys() - known):
        check.fail(key, "is not a fault setting")
    faults = {target: _read_fault(check, body, prefix) for target, prefix in FAULT_TARGETS.items()}
    if check.errors:
        return _error_response(422, "invalid faults", check.errors)
    stub.faults.update({target: fault for target, fault in faults.items() if fault is not None})
    return JSONResponse(_faults_json(stub))


async def clear_faults(request: Request) -> JSONResponse:
    stub = _stub(request)
    stub.faults.clear()
    return JSONResponse(_faults_json(stub))


async def events(request: Request) -> JSONResponse:
    return JSONResponse({"events": [delivery.to_json() for delivery in _stub(request).deliveries]})


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(_stub(request).counters)


async def reset(request: Request) -> JSONResponse:
    _stub(request).reset()
    return JSONResponse({"status": "reset"})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


# Application ------------------------------------------------------------------------------------


def create_stub_app(
    secret: str, previous_secret: str | None = None, api_token: str | None = None
) -> Starlette:
    """The stub as an ASGI app; webhooks signed with secret or previous_secret are accepted."""
    if not secret:
        raise ValueError("the webhook secret must not be empty")
    keys = (secret,) if not previous_secret else (secret, previous_secret)
    app = Starlette(
        routes=[
            Route(WEBHOOK_PATH, webhook, methods=["POST"]),
            Route(REPUTATION_PATH, reputation, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/_stub/faults", set_faults, methods=["POST"]),
            Route("/_stub/faults", clear_faults, methods=["DELETE"]),
            Route("/_stub/events", events, methods=["GET"]),
            Route("/_stub/stats", stats, methods=["GET"]),
            Route("/_stub/reset", reset, methods=["POST"]),
        ]
    )
    app.state.stub = StubState(tuple(key.encode() for key in keys), api_token or None)
    return app


def serve(
    host: str, port: int, secret: str, previous_secret: str | None, api_token: str | None
) -> None:
    """Serve the stub with uvicorn until interrupted; accepted events are logged at INFO."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_stub_app(secret, previous_secret, api_token), host=host, port=port, log_level="info"
    )
