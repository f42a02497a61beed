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
