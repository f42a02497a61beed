"""The worker's own small HTTP server: /healthz, /readyz and /metrics on WORKER_METRICS_PORT.

It runs on the worker's event loop thread (uvicorn.Server.serve as a task), next to the actors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gotong_gql import migrate
from gotong_gql.health import is_ready, readiness
from gotong_gql.metrics import CONTENT_TYPE_LATEST, exposition

if TYPE_CHECKING:
    from gotong_gql.services import Services

WORKER_PATHS = ("/healthz", "/readyz", "/metrics")


def create_health_app(services: Services) -> Starlette:
    head = migrate.head_revision()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        checks = await readiness(services, head)
        ready = is_ready(checks)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def metrics(request: Request) -> Response:
        return Response(exposition(services.engine), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


def create_health_server(services: Services) -> uvicorn.Server:
    config = uvicorn.Config(
        create_health_app(services),
        host="0.0.0.0",  # noqa: S104 (probes and Prometheus reach the pod's address)
        port=services.settings.worker_metrics_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # the worker's main thread owns signals
    return server
