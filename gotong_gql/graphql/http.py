"""GraphQL over HTTP (graphql.github.io/graphql-over-http): requests in, status codes out.

- Response media type by the Accept header, read as RFC 9110 says (q-values; the most specific
  range decides a type's quality), the client's order breaking ties:
  `application/graphql-response+json` or `application/json`, both with `charset=utf-8`. A
  missing Accept, `*/*` and `application/*` get `application/json`, which legacy clients
  understand (graphql-http's audit asks for it). Nothing acceptable: 406. `text/event-stream`
  (named, or `text/*`; never `*/*`, whose clients wait for one document) is for POSTed
  subscriptions, and for any operation when the client prefers it to JSON (graphql/sse.py).
- POST bodies: `application/json` (UTF-8) only, so that a form post or a text/plain body, which
  a browser sends cross-site without a CORS preflight, never executes: 415. Over the size limit:
  413, before the body is read when Content-Length says so. A JSON array (a batch): 400.
- GET: the parameters in the query string; queries only (a mutation: 405 with `Allow: POST`).
- Status codes: a request error (parse, validation, limits, variables; the body has no `data`)
  is 400 with `application/graphql-response+json` and 200 with `application/json`; a document
  that executed is 200 whatever its field errors; a rate-limit refusal is 429 for both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


class HttpError(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request, answered with `status`."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class GraphQLParams:
    query: str | None  # None: named by extensions.persistedQuery (graphql/persisted.py)
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """`application/json; charset=UTF-8` -> ("application/json", {"charset": "utf-8"})."""
    media_type, *parts = value.split(";")
    params = {}
    for part in parts:
        name, _, param = part.partition("=")
        params[name.strip().lower()] = param.strip().strip('"').lower()
    if params.get("charset") == "utf8":
        params["charset"] = "utf-8"
    return media_type.strip().lower(), params


EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True)
class MediaRange:
    media_range: str
    quality: float
    index: int


@dataclass(frozen=True)
class Negotiated:
    """What a client accepts: `media_type` for one JSON result (None: neither JSON type), and
    whether it takes an event stream at all and prefers it to JSON."""

    media_type: str | None
    stream: bool = False
    prefers_stream: bool = False


def accept_ranges(accept: str) -> list[MediaRange]:
    """The ranges of an Accept header, in the client's order. A range with a charset other than
    UTF-8 is left out: nothing is ever answered in another charset."""
    ranges = []
    for index, item in enumerate(accept.split(",")):
        if not item.strip():
            continue
        media_range, params = parse_media_type(item)
        if params.get("charset", "utf-8") != "utf-8":
            continue
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            continue
        ranges.append(MediaRange(media_range, quality, index))
    return ranges


def _specificity(media_range: str, media_type: str) -> int | None:
    if media_range == media_type:
        return 2
    if media_range == "*/*":
        return 0
    kind, _, subtype = media_range.partition("/")
    return 1 if subtype == "*" and media_type.startswith(f"{kind}/") else None


def preference(
    ranges: list[MediaRange], media_type: str, *, any_type: bool = True
) -> tuple[float, int, int] | None:
    """How much the client wants `media_type`: the sort key (-quality, -specificity, index) of
    the most specific range that matches it (RFC 9110 12.5.1), or None when none does or its
    quality is 0. `any_type=False` ignores `*/*`."""
    best: tuple[int, MediaRange] | None = None
    for media_range in ranges:
        specificity = _specificity(media_range.media_range, media_type)
        if specificity is None or (specificity == 0 and not any_type):
            continue
        if best is None or specificity > best[0]:
            best = (specificity, media_range)
    if best is None or best[1].quality <= 0:
        return None
    return (-best[1].quality, -best[0], best[1].index)


def negotiate(accept: str | None) -> Negotiated:
    """The response media types for an Accept header (see the module docstring)."""
    if not accept or not accept.strip():
        return Negotiated(JSON)
    ranges = accept_ranges(accept)
    # A wildcard matches both JSON types equally: application/json first, for legacy clients.
    offers = [
        (key, media_type)
        for media_type in (JSON, GRAPHQL_RESPONSE_JSON)
        if (key := preference(ranges, media_type)) is not None
    ]
    chosen = min(offers, key=lambda offer: offer[0], default=None)
    stream = preference(ranges, EVENT_STREAM, any_type=False)
    return Negotiated(
        media_type=chosen[1] if chosen else None,
        stream=stream is not None,
        prefers_stream=stream is not None and (chosen is None or stream < chosen[0]),
    )


def wants_html(accept: str | None) -> bool:
    """A browser asking for a page (GraphiQL), not a GraphQL client."""
    return bool(accept) and "text/html" in accept.lower()


async def read_body(request: Request, limit: int) -> bytes:
    too_large = HttpError(
        413, "PAYLOAD_TOO_LARGE", f"the request body is larger than {limit} bytes"
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HttpError(400, "BAD_REQUEST", "Content-Length is not a number")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _json_object(text: str | bytes, what: str) -> Any:
    try:
        # UTF-8 only (json.loads alone would guess UTF-16 and UTF-32 too).
        return json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise HttpError(400, "BAD_REQUEST", f"{what} is not valid JSON (UTF-8)") from None


def _params(data: Any) -> GraphQLParams:
    if isinstance(data, list):
        raise HttpError(400, "BATCHING_NOT_SUPPORTED", "send one operation per request")
    if not isinstance(data, dict):
        raise HttpError(400, "BAD_REQUEST", "the body must be a JSON object")
    query = data.get("query")
    extensions = data.get("extensions")
    named = query is None and isinstance(extensions, dict) and "persistedQuery" in extensions
    if not named and (not isinstance(query, str) or not query.strip()):
        raise HttpError(400, "BAD_REQUEST", "`query` (a GraphQL document) is required")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HttpError(400, "BAD_REQUEST", "`operationName` must be a string")
    for name in ("variables", "extensions"):
        value = data.get(name)
        if value is not None and not isinstance(value, dict):
            raise HttpError(400, "BAD_REQUEST", f"`{name}` must be an object")
    return GraphQLParams(
        query=query,
        variables=data.get("variables"),
        operation_name=operation_name or None,
        extensions=extensions,
    )


async def request_params(request: Request, body_limit: int) -> GraphQLParams:
    if request.method == "GET":
        query = request.query_params
        data: dict[str, Any] = {
            "query": query.get("query"),
            "operationName": query.get("operationName"),
        }
        for name in ("variables", "extensions"):
            if query.get(name):
                data[name] = _json_object(query[name], f"`{name}`")
        return _params(data)
    content_type, params = parse_media_type(request.headers.get("content-type", ""))
    if content_type != JSON or params.get("charset", "utf-8") != "utf-8":
        raise HttpError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as Content-Type: application/json (UTF-8)",
        )
    return _params(_json_object(await read_body(request, body_limit), "the body"))


def error_body(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def is_request_error(data: Any, errors: list[GraphQLError] | None, pre_execution: bool) -> bool:
    """Whether the operation did not run: parse, validation, limits, variables. (Field errors
    carry a path; a request error has none, and the response then carries no `data`.)"""
    if pre_execution:
        return True
    return data is None and bool(errors) and all(error.path is None for error in errors)


def status_for(media_type: str, request_error: bool, codes: set[str]) -> int:
    if "RATE_LIMITED" in codes:
        return 429
    if request_error and media_type == GRAPHQL_RESPONSE_JSON:
        return 400
    return 200


def json_response(
    body: Any, status: int, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        status_code=status,
        headers=dict(headers or {}),
        media_type=f"{media_type}; charset=utf-8",
    )
