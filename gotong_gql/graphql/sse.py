"""Subscriptions over Server-Sent Events, for clients without WebSockets.

The graphql-sse protocol's "distinct connections" mode: `POST /graphql` with
`Accept: text/event-stream` and a subscription document answers a stream of `next` events (each
one GraphQL result as JSON) and a final `complete`. The bearer token, the limits checked before
execution (a schema extension), the visibility rules and the token lifetime are those of the
WebSocket transport; the per-request context lives as long as the stream. A query or mutation
from a client that prefers the stream runs like any other HTTP request (graphql/view.py) and its
one result is sent as one `next` event (`single`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLError
from starlette.responses import Response, StreamingResponse

from gotong_gql.graphql.context import Context
from gotong_gql.graphql.http import EVENT_STREAM, GraphQLParams

STREAM_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


def is_subscription(params: GraphQLParams, max_tokens: int) -> bool:
    """Whether the operation to run is a subscription. (A document that does not even contain
    the word is not parsed: most requests that accept a stream are queries.)"""
    if "subscription" not in params.query:
        return False
    try:
        document = parse(params.query, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (
            params.operation_name is None
            or (definition.name and definition.name.value == params.operation_name)
        )
    ]
    return len(operations) == 1 and operations[0].operation == OperationType.SUBSCRIPTION


def _event(name: str, data: dict[str, Any] | None = None) -> str:
    return f"event: {name}\ndata: {json.dumps(data) if data is not None else ''}\n\n"


def _formatted(result: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    return payload


async def stream(schema: Any, params: GraphQLParams, context: Context) -> Response:
    results = await schema.subscribe(
        params.query,
        variable_values=params.variables,
        context_value=context,
        operation_name=params.operation_name,
    )

    async def events() -> AsyncIterator[str]:
        try:
            async for result in results:
                yield _event("next", _formatted(result))
            yield _event("complete")
        finally:
            await results.aclose()
            await context.close()

    return StreamingResponse(events(), media_type=EVENT_STREAM, headers=STREAM_HEADERS)


def single(response: Response) -> Response:
    """One JSON result (a query or mutation answered 200) as a stream of one `next` event, with
    the JSON response's headers (its `Cache-Control: no-store` included)."""
    body = bytes(response.body).decode("utf-8")
    streamed = Response(
        f"event: next\ndata: {body}\n\n{_event('complete')}",
        media_type=EVENT_STREAM,
        headers={"X-Accel-Buffering": "no"},
    )
    for name, value in response.headers.items():
        if name not in ("content-type", "content-length"):
            streamed.headers[name] = value
    return streamed
