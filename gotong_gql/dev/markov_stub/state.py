"""What the stub knows and remembers: its keys, the delivery log, accepted events, faults and
counters (one `StubState` on `app.state.stub`), and the error answers' shape."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

COUNTERS = ("webhook_requests", "accepted", "duplicates", "rejected", "reputation_requests")
FAULT_FIELDS = ("status", "times", "retry_after", "delay")
# Fault targets and the prefix of their keys in `POST /_stub/faults`.
FAULT_TARGETS = {"webhook": "", "reputation": "reputation_"}

Error = dict[str, str]


def field_error(field: str, reason: str) -> Error:
    return {"field": field, "reason": reason}


def error_response(
    status: int, summary: str, errors: list[Error], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": summary, "errors": errors}, status_code=status, headers=headers)


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


def stub_of(request: Request) -> StubState:
    return request.app.state.stub
