"""The /graphql endpoint: GraphQL over HTTP (graphql/http.py), Server-Sent Events
(graphql/sse.py) and subscriptions over WebSocket (Strawberry's graphql-transport-ws), with
persisted queries (graphql/persisted.py). A Context is built per request (or WebSocket) and closed
after; the GraphQLGuard (graphql/limits/) goes on request.state for the QueryGuard extension."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from gotong_gql import graphiql
from gotong_gql.compiler.read_path import ReadPath
from gotong_gql.graphql import http, sse
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.limits.guard import GraphQLGuard
from gotong_gql.graphql.limits.parse_errors import classify_parse_error
from gotong_gql.graphql.limits.rate import RATE_LIMITED, rate_limited
from gotong_gql.graphql.multiplex.transport import MultiplexedTransportWS
from gotong_gql.graphql.persisted import NOT_IN_LIST, PersistedQueries
from gotong_gql.graphql.schema import schema
from gotong_gql.security import TokenError

CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
ALLOWED_OPERATIONS = {
    "GET": {OperationType.QUERY},
    "POST": {OperationType.QUERY, OperationType.MUTATION},
}


def bearer_token(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


class PersistedOnlyTransportWS(MultiplexedTransportWS):
    """graphql-transport-ws, its subscriptions multiplexed (graphql/multiplex/); in the
    persisted-only mode a `subscribe` runs a manifest document (named by its text or its hash)
    or gets an `error`."""

    async def handle_subscribe(self, message: Any) -> None:
        persisted: PersistedQueries = self.view.persisted
        if persisted.only and self.connection_acknowledged:
            document = persisted.websocket_document(message.get("payload") or {})
            if document is None:
                error = {"message": "not a persisted document", "extensions": {"code": NOT_IN_LIST}}
                await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
                return
            message = {**message, "payload": {**message["payload"], "query": document}}
        await super().handle_subscribe(message)


class PersistedOnlyWS(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol, held to the same rule."""

    async def handle_start(self, message: Any) -> None:
        persisted: PersistedQueries = self.view.persisted
        if persisted.only and self.connection_acknowledged:
            document = persisted.websocket_document(message.get("payload") or {})
            if document is None:
                error = {"message": "not a persisted document", "extensions": {"code": NOT_IN_LIST}}
                await self.send_message({"type": "error", "id": message["id"], "payload": error})
                return
            message = {**message, "payload": {**message["payload"], "query": document}}
        await super().handle_start(message)


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = PersistedOnlyTransportWS
    graphql_ws_handler_class = PersistedOnlyWS

    def __init__(
        self,
        services_getter: Any,
        *,
        graphiql: bool,
        allowed_origins: list[str],
        local_origins: str | None,
        guard: GraphQLGuard,
        persisted: PersistedQueries,
        max_body_bytes: int,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=True,
            connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
            allowed_origins=allowed_origins,
        )
        self._services = services_getter
        self.local_origins = re.compile(local_origins) if local_origins else None
        self.guard = guard
        self.persisted = persisted
        self.max_body_bytes = max_body_bytes
        self.read_path = ReadPath(schema, guard)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            response = await self.handle_http(Request(scope, receive))
            await response(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """CORS_ORIGINS, and in development the local origins, as for HTTP (app.py)."""
        if self.local_origins is not None and self.local_origins.fullmatch(origin):
            return True
        return super().is_websocket_origin_allowed(request, origin)

    def _context(self, request: Request | WebSocket, token: str | None) -> Context:
        request.state.graphql_guard = self.guard
        request.state.rate_limit = None
        request.state.rate_limit_charged = False
        return Context(
            services=self._services(request),
            request=request,
            response=None,
            request_id=request.scope.get("state", {}).get("request_id", ""),
            token=token,
        )

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        """WebSocket connections (HTTP requests are served by handle_http)."""
        context = self._context(request, None)
        try:
            return await super().run(request, context=context, root_value=root_value)
        finally:
            await context.close()

    async def handle_http(self, request: Request) -> Response:
        accept = request.headers.get("accept")
        if request.method not in ALLOWED_OPERATIONS:
            return _error(405, "METHOD_NOT_ALLOWED", "use GET or POST", Allow="GET, POST")
        query_given = "query" in request.query_params or "extensions" in request.query_params
        if request.method == "GET" and http.wants_html(accept) and not query_given:
            if self.graphql_ide:
                return graphiql.page()
            return _error(404, "NOT_FOUND", "no GraphiQL here: send a GraphQL request")
        negotiated = http.negotiate(accept)
        may_stream = request.method == "POST" and negotiated.stream
        if negotiated.media_type is None and not may_stream:
            return _error(
                406,
                "NOT_ACCEPTABLE",
                "accept application/graphql-response+json or application/json",
            )
        media_type = negotiated.media_type or http.GRAPHQL_RESPONSE_JSON
        cache = self._services(request).cache
        try:
            resolved = await self.persisted.resolve(
                await http.request_params(request, self.max_body_bytes), cache
            )
        except http.HttpError as error:
            return _error(error.status, error.code, error.message, media_type, **error.headers)
        params = resolved.params
        context = self._context(request, bearer_token(request.headers.get("authorization")))
        if may_stream and sse.is_subscription(params, self.guard.limits.max_tokens):
            return await sse.stream(self.schema, params, context)
        stream = may_stream and negotiated.prefers_stream
        if stream:
            # One result in a stream: the JSON status rules (a request error is 400) apply.
            media_type = http.GRAPHQL_RESPONSE_JSON
        request.state.operation_name_given = params.operation_name is not None
        request.state.precharged = None
        try:
            response = await self.read_path.answer(request, params, media_type, context)
            ran = response is not None
            if response is None:
                response, ran = await self._execute(request, params, media_type, context)
            if ran and resolved.register is not None:
                await self.persisted.register(resolved.register, params.query or "", cache)
            if not request.state.rate_limit_charged:
                response = await self._charge_refused(request, context, response, media_type)
        finally:
            await context.close()
        if request.state.rate_limit is not None:
            for name, value in request.state.rate_limit.headers().items():
                response.headers.setdefault(name, value)
        response.headers["Cache-Control"] = "no-store"
        return sse.single(response) if stream and response.status_code == 200 else response

    async def _execute(
        self, request: Request, params: http.GraphQLParams, media_type: str, context: Context
    ) -> tuple[Response, bool]:
        """The response, and whether the operation ran (was not refused before execution)."""
        try:
            result = await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=ALLOWED_OPERATIONS[request.method],
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type == OperationType.MUTATION:
                return _error(
                    405, "METHOD_NOT_ALLOWED", "mutations need POST", media_type, Allow="POST"
                ), False
            return _error(
                400,
                "BAD_REQUEST",
                "subscriptions are served over WebSocket (graphql-transport-ws) or, to a POST"
                " with Accept: text/event-stream, as Server-Sent Events",
                media_type,
            ), False
        except CannotGetOperationTypeError as error:
            body = http.error_body("GRAPHQL_VALIDATION_FAILED", error.as_http_error_reason())
            status = http.status_for(media_type, True, set())
            return http.json_response(body, status, media_type), False
        except MissingQueryError:
            return _error(400, "BAD_REQUEST", "`query` is required", media_type), False
        errors = [classify_parse_error(error, self.guard.limits) for error in result.errors or []]
        request_error = http.is_request_error(
            result.data, errors, isinstance(result, PreExecutionError)
        )
        body: dict[str, Any] = {} if request_error else {"data": result.data}
        if errors:
            body["errors"] = [error.formatted for error in errors]
        if result.extensions:
            body["extensions"] = result.extensions
        codes = {str((error.extensions or {}).get("code")) for error in errors}
        status = http.status_for(media_type, request_error, codes)
        return http.json_response(body, status, media_type), not request_error

    async def _charge_refused(
        self, request: Request, context: Context, response: Response, media_type: str
    ) -> Response:
        """A request refused before execution still costs a point (parsing and validating it
        was work); past the limit it is answered 429 like any other."""
        decision = await self.guard.charge(request, context.user_id, 1)
        if decision is None or decision.allowed:
            return response
        error = rate_limited(decision, "query cost")
        return http.json_response(
            http.error_body(RATE_LIMITED, error.message, retryAfter=decision.retry_after),
            429,
            media_type,
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        raise AssertionError("the context is built in run()")  # pragma: no cover

    async def on_ws_connect(self, context: Context) -> None:
        """The access token comes in the connection_init payload; without a valid one: 4403."""
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization") or params.get("token")
        token = bearer_token(raw) or (raw if isinstance(raw, str) else None)
        if not token:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": "no token"})
        try:
            context.services.tokens.decode(token, "access")
        except TokenError as exc:
            raise ConnectionRejectionError(
                {"code": "UNAUTHENTICATED", "message": str(exc)}
            ) from None
        context.token = token


def _error(
    status: int,
    code: str,
    message: str,
    media_type: str = http.JSON,
    **headers: str,
) -> Response:
    return http.json_response(http.error_body(code, message), status, media_type, headers)
