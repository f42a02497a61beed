"""The Strawberry ASGI view: builds a Context per request (or WebSocket) and closes it after."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from gotong_gql.graphql.context import Context
from gotong_gql.graphql.schema import schema
from gotong_gql.security import TokenError
from gotong_gql.services import Services

CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20


def bearer_token(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, services_getter: Any, *, graphiql: bool, allowed_origins: list[str]) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
            allowed_origins=allowed_origins,
        )
        self._services = services_getter

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        services: Services = self._services(request)
        is_websocket = request.scope["type"] == "websocket"
        context = Context(
            services=services,
            request=request,
            response=None,
            request_id=request.scope.get("state", {}).get("request_id", ""),
            token=None if is_websocket else bearer_token(request.headers.get("authorization")),
        )
        try:
            return await super().run(request, context=context, root_value=root_value)
        finally:
            await context.close()

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
