"""GraphQL over HTTP (graphql.github.io/graphql-over-http): requests in, status codes out.

- Response media type by the Accept header: `application/graphql-response+json` (also for a
  missing Accept, `*/*` and `application/*`, as the spec asks since 2025) or `application/json`
  for legacy clients; both with `charset=utf-8`. Nothing acceptable: 406.
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
SUPPORTED = (GRAPHQL_RESPONSE_JSON, JSON)


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
    query: str
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


def _matches(media_range: str, media_type: str) -> bool:
    if media_range in ("*/*", media_type):
        return True
    kind, _, subtype = media_range.partition("/")
    return subtype == "*" and media_type.startswith(f"{kind}/")


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when nothing offered fits."""
    if not accept or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    ranges: list[tuple[float, int, str]] = []
    refused: set[str] = set()
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
        if quality <= 0:
            refused.update(t for t in SUPPORTED if media_range == t)
            continue
        ranges.append((-quality, index, media_range))
    for _, _, media_range in sorted(ranges):
        for media_type in SUPPORTED:  # for wildcards, the spec's preferred type first
            if media_type not in refused and _matches(media_range, media_type):
                return media_type
    return None


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
    if not isinstance(query, str) or not query.strip():
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
        extensions=data.get("extensions"),
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
