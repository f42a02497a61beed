"""Per operation: Prometheus metrics (by operation name and outcome, errors by code) and one
structured log line with the request id, user id, operation name and duration. The name is the
client's: its metric label is bounded (metrics.OPERATION_LABELS), and only an operation that ran
may claim a new one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import structlog
from graphql import OperationType
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import PreExecutionError

from gotong_gql import metrics

log = structlog.get_logger("gotong_gql.request")


class Observability(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        started = time.perf_counter()
        yield
        if self.execution_context.operation_type == OperationType.SUBSCRIPTION:
            return
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or []
        record(
            operation=self.execution_context.operation_name,
            codes=[(error.extensions or {}).get("code", "UNKNOWN") for error in errors],
            duration=time.perf_counter() - started,
            user_id=getattr(context, "user_id", None),
            request_id=getattr(context, "request_id", None),
            admit=result is not None and not isinstance(result, PreExecutionError),
        )


def record(
    *,
    operation: str | None,
    codes: list[str],
    duration: float,
    user_id: Any,
    request_id: str | None,
    admit: bool,
) -> None:
    """The metrics and the log line of one operation (the executor's or the compiled path's)."""
    operation = operation or metrics.ANONYMOUS
    label = metrics.OPERATION_LABELS(operation, admit=admit)
    outcome = "error" if codes else "ok"
    metrics.REQUESTS.labels(label, outcome).inc()
    metrics.REQUEST_SECONDS.labels(label).observe(duration)
    for code in codes:
        metrics.GRAPHQL_ERRORS.labels(code).inc()
    log.info(
        "graphql",
        request_id=request_id,
        user_id=str(user_id) if user_id else None,
        operation=operation,
        outcome=outcome,
        error_codes=codes or None,
        duration_ms=round(duration * 1000, 2),
    )
