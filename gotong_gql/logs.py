"""Structured JSON logs (structlog), for our loggers and for the libraries' (uvicorn, Dramatiq,
SQLAlchemy) through the standard logging module.

Nothing secret reaches a log line: values under keys that name a password, token, secret,
signature or authorization are masked, and anything shaped like a JWT or a signed URL's signature
is masked inside messages too.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

SECRET_KEYS = re.compile(r"password|token|secret|signature|authorization|api_key", re.I)
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")
SIGNED_QUERY = re.compile(r"((?:signature|X-Amz-Signature|X-Amz-Credential)=)[^&\s\"']+", re.I)
MASK = "[redacted]"


def scrub(text: str) -> str:
    return SIGNED_QUERY.sub(rf"\1{MASK}", JWT.sub(MASK, text))


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event.items()):
        if SECRET_KEYS.search(key):
            event[key] = MASK
        elif isinstance(value, str):
            event[key] = scrub(value)
    return event


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # the root's level decides
