"""The stub's endpoints (webhook, reputation, control) and its ASGI app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gotong_gql.dev.markov_stub.checks import (
    MARKOV_USER_PREFIX,
    Checker,
    any_match,
    decode_json,
    is_canonical_uuid,
    payload_errors,
    signature_errors,
)
from gotong_gql.dev.markov_stub.state import (
    FAULT_FIELDS,
    FAULT_TARGETS,
    Delivery,
    Error,
    Fault,
    StubState,
    error_response,
    field_error,
    stub_of,
)

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/v1/platforms/gotong_royong/webhook"
REPUTATION_PATH = "/api/v1/users/{markov_user_id}/reputation"
MAX_BODY_BYTES = 1024 * 1024
TIERS = ((0.8, "steward"), (0.5, "trusted"), (0.2, "contributor"), (0.0, "newcomer"))


async def _inject_fault(stub: StubState, target: str) -> JSONResponse | None:
    """Applies the target's fault, if any: sleeps its delay; its answer when it has a status."""
    fault = stub.take_fault(target)
    if fault is None:
        return None
    await asyncio.sleep(fault.delay)
    if fault.status is None:
        return None
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    return error_response(fault.status, "injected fault", [], headers)


def _reject(
    stub: StubState, delivery: Delivery, status: int, summary: str, errors: list[Error]
) -> JSONResponse:
    stub.counters["rejected"] += 1
    delivery.errors = errors
    return error_response(status, summary, errors)


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
        return _reject(stub, delivery, 413, "payload too large", [field_error("body", reason)])
    errors = signature_errors(stub.secrets, request.headers, delivery.body)
    if errors:
        return _reject(stub, delivery, 401, "invalid signature", errors)
    try:
        payload = decode_json(delivery.body)
    except ValueError as exc:
        return _reject(
            stub, delivery, 422, "invalid payload", [field_error("body", f"not JSON: {exc}")]
        )
    if isinstance(payload, dict) and isinstance(payload.get("event_id"), str):
        delivery.event_id = payload["event_id"]
    errors = payload_errors(payload, request.headers)
    if errors:
        return _reject(stub, delivery, 422, "invalid payload", errors)
    return _accept(stub, delivery, payload)


async def webhook(request: Request) -> JSONResponse:
    stub = stub_of(request)
    stub.counters["webhook_requests"] += 1
    delivery = Delivery(
        received_at=time.time(), headers=dict(request.headers), body=await request.body()
    )
    stub.deliveries.append(delivery)
    response = await _answer_webhook(stub, delivery, request)
    delivery.status = response.status_code
    return response


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
    return any_match([expected], [authorization.encode("latin-1")])


async def reputation(request: Request) -> JSONResponse:
    stub = stub_of(request)
    stub.counters["reputation_requests"] += 1
    injected = await _inject_fault(stub, "reputation")
    if injected is not None:
        return injected
    if not _authorised(stub, request.headers.get("authorization", "")):
        reason = "must be Bearer <platform service token>"
        return error_response(401, "unauthorised", [field_error("headers.authorization", reason)])
    markov_user_id = request.path_params["markov_user_id"]
    user_id = markov_user_id.removeprefix(MARKOV_USER_PREFIX)
    if user_id == markov_user_id or not is_canonical_uuid(user_id):
        reason = f"must be {MARKOV_USER_PREFIX}<user uuid>"
        return error_response(404, "unknown user", [field_error("markov_user_id", reason)])
    return JSONResponse(_reputation(markov_user_id, stub.accepted.values()))


def _read_fault(check: Checker, body: dict[str, Any], prefix: str) -> Fault | None:
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
    stub = stub_of(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return error_response(422, "invalid faults", [field_error("body", "must be a JSON object")])
    check = Checker()
    known = {prefix + name for prefix in FAULT_TARGETS.values() for name in FAULT_FIELDS}
    for key in sorted(body.keys() - known):
        check.fail(key, "is not a fault setting")
    faults = {target: _read_fault(check, body, prefix) for target, prefix in FAULT_TARGETS.items()}
    if check.errors:
        return error_response(422, "invalid faults", check.errors)
    stub.faults.update({target: fault for target, fault in faults.items() if fault is not None})
    return JSONResponse(_faults_json(stub))


async def clear_faults(request: Request) -> JSONResponse:
    stub = stub_of(request)
    stub.faults.clear()
    return JSONResponse(_faults_json(stub))


async def events(request: Request) -> JSONResponse:
    return JSONResponse(
        {"events": [delivery.to_json() for delivery in stub_of(request).deliveries]}
    )


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(stub_of(request).counters)


async def reset(request: Request) -> JSONResponse:
    stub_of(request).reset()
    return JSONResponse({"status": "reset"})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


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
