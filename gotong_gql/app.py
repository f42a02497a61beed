"""create_app(settings): the Starlette application and its lifespan."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gotong_gql import metrics, migrate
from gotong_gql.audit.verify import log_checkpoints_forever
from gotong_gql.forwarded import ForwardedHeadersMiddleware
from gotong_gql.graphiql import asset_routes
from gotong_gql.graphql.limits.guard import GraphQLGuard
from gotong_gql.graphql.persisted import PersistedQueries
from gotong_gql.graphql.view import GraphQLView, bearer_token
from gotong_gql.health import is_ready, readiness
from gotong_gql.middleware import SecurityHeadersMiddleware
from gotong_gql.services import Services
from gotong_gql.settings import Settings, load_settings
from gotong_gql.shutdown import LiveStreamMiddleware, LiveStreams
from gotong_gql.storage.local_routes import object_routes
from gotong_gql.user.service import login_user_id
from gotong_gql.webhook.service import sweep_forever

log = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Headers a browser page on an allowed origin may read from a cross-origin response.
EXPOSED_HEADERS = [
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
]


def _unexpected_errors_only(record: logging.LogRecord) -> bool:
    """Strawberry logs every GraphQL error at ERROR. Errors of the client's making (validation,
    authentication, bad input) are answers, not server faults, and their messages can echo what
    the client sent; unexpected exceptions stay (ErrorReporting logs them with the request id)."""
    exc = record.exc_info[1] if record.exc_info else None
    return exc is not None and not isinstance(exc, GraphQLError)


class RequestIdMiddleware:
    """Takes a sane `X-Request-ID` from the client or makes one; echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else f"req_{uuid.uuid4().hex}"
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append(
                    (b"x-request-id", request_id.encode("latin-1"))
                )
            await send(message)

        await self.app(scope, receive, send_with_id)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Database reachable and migrated to head; Redis and S3 reachable when configured."""
    checks = await readiness(request.app.state.services, request.app.state.migration_head)
    ready = is_ready(checks)
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def metrics_routes(settings: Settings) -> list[Route]:
    """/metrics, Prometheus text format. It names operations and error codes, so it is not for
    anyone who reaches the API: with METRICS_TOKEN it answers that bearer token only, and in
    production without one it is not served."""
    token = settings.metrics_token.get_secret_value().encode() if settings.metrics_token else None
    if token is None and settings.is_production:
        return []

    async def metrics_endpoint(request: Request) -> Response:
        given = bearer_token(request.headers.get("authorization"))
        if token is not None and not hmac.compare_digest((given or "").encode(), token):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        services: Services = request.app.state.services
        exposition = metrics.exposition(services.engine)
        return Response(exposition, media_type=metrics.CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics_endpoint)]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    guard = GraphQLGuard.from_settings(settings, account_of_login=login_user_id)
    streams = LiveStreams()  # ended on SIGTERM, so that shutdown has an end (shutdown.py)
    logging.getLogger("strawberry.execution").addFilter(_unexpected_errors_only)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = Services.create(settings)
        await services.storage.ensure_ready()
        app.state.services = services
        app.state.migration_head = migrate.head_revision()
        # Embedded mode: no worker process, so this process sweeps the outbox itself and logs
        # the audit checkpoints.
        loops = (
            []
            if settings.redis_url
            else [
                asyncio.create_task(sweep_forever(services)),
                asyncio.create_task(
                    log_checkpoints_forever(
                        services.session_factory, settings.audit_checkpoint_interval_seconds
                    )
                ),
            ]
        )
        try:
            with streams.closing_on_termination():
                yield
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await guard.close()
            await services.close()

    graphql = GraphQLView(
        lambda request: request.app.state.services,
        graphiql=not settings.is_production,
        allowed_origins=settings.cors_origins,
        local_origins=settings.local_origins,
        guard=guard,
        persisted=PersistedQueries.from_settings(settings),
        max_body_bytes=settings.graphql_max_body_bytes,
    )
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *metrics_routes(settings),
            Route("/graphql", graphql),  # the view answers 405 for other methods
            WebSocketRoute("/graphql", graphql),
            # Signed upload and download URLs of the local object store (embedded mode).
            *object_routes(lambda request: request.app.state.services.storage),
            *asset_routes(),  # GraphiQL's own assets, same origin
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(LiveStreamMiddleware, streams=streams),
            # X-Forwarded-* from trusted proxies: the client's address and the public address.
            Middleware(ForwardedHeadersMiddleware, trusted=settings.forwarded_allow_ips),
            Middleware(RequestIdMiddleware),
            Middleware(SecurityHeadersMiddleware, hsts=settings.is_production),
            # Bearer tokens, not cookies: no credentials mode; WebSocket origins use the same list.
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_origin_regex=settings.local_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
                expose_headers=EXPOSED_HEADERS,
                max_age=600,
            ),
        ],
    )
    app.state.graphql_guard = guard
    app.state.read_path = graphql.read_path  # its caches, for operators' and tests' eyes
    return app
